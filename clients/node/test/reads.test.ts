// The marketplace layer's reads (marketplace, payee, accounts, allRuns), a balance before its
// account was opened, and Finance.payoutFile / importReport, against a real `tally serve`; each
// compared with the `tally` CLI against the same server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { TallyClient, TallyError } from "../dist/index.js";
import { Server, tokens } from "./server.js";

const server = new Server();
let poster: TallyClient;
let auditor: TallyClient;
let finance: TallyClient; // finance and auditor

before(async () => {
  await server.start();
  poster = await server.client(tokens.poster);
  auditor = await server.client(tokens.auditor);
  finance = await server.client(tokens.finance);
  // p1 is paid 93.84 EUR on Monday 2026-01-26 (docs/accounting.md: 104.27 released, 10% kept).
  const details = await finance.post(
    [
      {
        type: "payee_details",
        id: "pd-p1",
        at: "2026-01-02T09:00:00Z",
        marketplace: "shop",
        payee: "p1",
        name: "Atelier Lumière SARL",
        account: "FR7630004008230001234567819",
        bic: "BNPAFRPPXXX",
      },
    ] as never,
  );
  assert.equal(details[0].status, "ok", details[0].message);
  const rs = await poster.post([
    {
      type: "sale",
      id: "o-1001",
      at: "2026-01-05T10:00:00Z",
      marketplace: "shop",
      seller: "p1",
      amount: "120.00",
      currency: "EUR",
      category: "product",
      affiliate: "a7",
    },
    { type: "delivered", id: "dl-1001", at: "2026-01-08T14:00:00Z", marketplace: "shop", sale: "o-1001" },
    { type: "open", account: "ops:bank", kind: "asset", currencies: ["USD", "EUR"] },
    { type: "open", account: "ops:wallets:w1", kind: "liability", currencies: ["USD"], flags: ["no_overdraft"] },
    { type: "open", account: "ops:wallets:w2", kind: "liability", currencies: ["EUR"] },
  ] as never);
  for (const r of rs) assert.equal(r.status, "ok", r.message);
});

after(async () => {
  for (const c of [poster, auditor, finance]) c?.close();
  await server.stop();
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TallyError, `expected a TallyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}

test("marketplace: the config as loaded and the next pay dates, as the CLI prints them", async () => {
  const m = await auditor.marketplace("shop", { from: "2026-04-01", next: 3 });
  assert.equal(m.name, "shop");
  assert.deepEqual(m.currencies, [{ code: "EUR", exponent: 2 }]);
  assert.deepEqual(m.commission, { product: "10%", service: "20%" });
  assert.equal(m.affiliateRate, "7%");
  assert.equal(m.feeRate, "2.9%");
  assert.deepEqual(m.feeFixed, [{ currency: "EUR", amount: "0.25" }]);
  assert.deepEqual(m.schedule, { form: "weekly", weekdays: ["monday"] });
  assert.deepEqual(m.reserve, { rate: "10%", days: 90 });
  assert.equal(m.payoutTax, null);
  assert.equal(m.ach, null);
  assert.deepEqual(m.payDates[0], { date: "2026-04-07", scheduled: "2026-04-06", cutoff: "2026-04-06T22:00:00Z" });
  const cli = await server.cli(tokens.auditor, ["marketplace", "shop", "--from", "2026-04-01", "--next", "3"]);
  assert.equal(cli.code, 0, cli.stderr);
  const j = cli.lines[0];
  assert.equal(j.fee_rate, m.feeRate);
  assert.deepEqual(j.commission_rate, m.commission);
  assert.deepEqual(
    j.pay_dates.map((p: { pay_date: string; scheduled: string; cutoff: string }) => [p.pay_date, p.scheduled, p.cutoff]),
    m.payDates.map((p) => [p.date, p.scheduled, p.cutoff]),
  );

  const shopper = await auditor.marketplace("shopper", { from: "2026-02-01", next: 1 });
  assert.equal(shopper.affiliateRate, null);
  assert.deepEqual(shopper.payoutTax, { rate: "0.4%", account: "shopper:expense:gmf", rounding: "half_up", currency: "COP" });
  assert.equal(shopper.coDispersion?.companyNit, "900123456-8");
  assert.deepEqual(shopper.earning, [
    { name: "session", rate: "8%", minimum: [{ currency: "USD", amount: "10.00" }, { currency: "COP", amount: "40000.00" }] },
  ]);
  await expectCode(auditor.marketplace("nope"), "unknown_marketplace");
  await expectCode(auditor.marketplace("shop", { from: "2026-02-30" }), "bad_date");
  await expectCode(poster.marketplace("shop"), "not_allowed");
});

test("payee: details, holds with release times and hold state, as the CLI prints them", async () => {
  const p = await auditor.payee("shop", "p1");
  assert.equal(p.hold.on, false);
  assert.equal(p.details.length, 1);
  assert.equal(p.details[0].account, "FR7630004008230001234567819");
  assert.deepEqual(p.holds, [
    {
      origin: "o-1001",
      currency: "EUR",
      original: "104.27",
      remaining: "104.27",
      release: "2026-01-22T14:00:00Z", // 14 days from the delivery
      created: "2026-01-05T10:00:00Z",
    },
  ]);
  const cli = await server.cli(tokens.auditor, ["payee", "shop", "p1"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(cli.lines[0].holds, p.holds);
  await expectCode(auditor.payee("shop", "nobody"), "unknown_payee");
});

test("accounts: a page at a time with the cursor", async () => {
  const first = await auditor.accounts("ops", { limit: 2 });
  assert.deepEqual(
    first.accounts.map((a) => a.account),
    ["ops:bank", "ops:wallets:w1"],
  );
  assert.deepEqual(first.accounts[1], {
    account: "ops:wallets:w1",
    kind: "liability",
    noOverdraft: true,
    closed: false,
    currencies: ["USD"],
  });
  assert.equal(first.next, "ops:wallets:w1");
  const rest = await auditor.accounts("ops", { limit: 2, after: first.next });
  assert.deepEqual(
    rest.accounts.map((a) => a.account),
    ["ops:wallets:w2"],
  );
  assert.equal(rest.next, "");
  await expectCode(auditor.accounts("", { limit: 10001 }), "bad_request");
});

test("a balance before its account was opened is not yet opened, never 0.00", async () => {
  const then = await auditor.balance("ops:bank", { asOf: "2000-01-01T00:00:00Z" });
  assert.equal(then.notYetOpened, true);
  assert.deepEqual(then.balances, []);
  assert.ok(then.opened !== null && then.opened > "2000-01-01T00:00:00Z");
  const now = await auditor.balance("ops:bank", { currency: "USD" });
  assert.equal(now.notYetOpened, false);
  assert.deepEqual(now.balances, [{ currency: "USD", balance: "0.00" }]);
  assert.equal(now.opened, then.opened);
});

test("balances under a prefix as of before an account was opened leave it out", async () => {
  const t = await auditor.balances("ops");
  const opened = await poster.post([
    { type: "open", account: "ops:later", kind: "asset", currencies: ["USD"] },
  ] as never);
  assert.equal(opened[0].status, "ok", opened[0].message);
  // The books at T as they were read at T: ops:later did not exist, so no "0.00" row for it.
  const then = await auditor.balances("ops", { asOf: t.asOf });
  assert.deepEqual(then, t);
  assert.ok(!then.accounts.some((r) => r.account === "ops:later"));
  const now = await auditor.balances("ops");
  assert.deepEqual(
    now.accounts.filter((r) => r.account === "ops:later"),
    [{ account: "ops:later", currency: "USD", balance: "0.00" }],
  );
  // Before anything was opened: no account and no total; the CLI says the same.
  const before = await auditor.balances("", { asOf: "2000-01-01T00:00:00Z" });
  assert.deepEqual([before.accounts, before.totals], [[], []]);
  const cli = await server.cli(tokens.auditor, ["balances", "ops", "--as-of", t.asOf]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok(!cli.lines[0].accounts.some((r: { account: string }) => r.account === "ops:later"));
});

test("runs across marketplaces; a payout file and a bank report through Finance", async () => {
  const run = await finance.settle("shop", "2026-01-26");
  assert.equal(run.payouts.length, 1);
  // What the run kept back: 10% of each release in reserve (p1 10.43 of 104.27, a7 0.84 of 8.40).
  assert.deepEqual(
    [run.payouts[0].amount, run.payouts[0].tax, run.payouts[0].kept],
    ["93.84", "0.00", "0.00"],
  );
  assert.deepEqual(run.reserved, [
    { payee: "a7", currency: "EUR", amount: "0.84" },
    { payee: "p1", currency: "EUR", amount: "10.43" },
  ]);
  assert.deepEqual(run.reserveReleased, []);
  assert.deepEqual(
    run.totals.map((x) => [x.currency, x.paid, x.reserved, x.reserveReleased, x.tax, x.kept]),
    [["EUR", "93.84", "11.27", "0.00", "0.00", "0.00"]],
  );
  const all = await auditor.allRuns();
  assert.deepEqual(
    all.map((r) => [r.marketplace, r.run, r.state]),
    [["shop", "shop:2026-01-26", "complete"]],
  );
  assert.deepEqual(await auditor.allRuns("shopper"), []);
  await expectCode(auditor.allRuns("nope"), "unknown_marketplace");
  const cli = await server.cli(tokens.auditor, ["runs"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.lines[0].marketplace, null);
  assert.equal(cli.lines[0].runs[0].run, "shop:2026-01-26");

  // The pain.001 file: recorded and its payout sent; the same bytes the CLI prints afterwards.
  const file = await finance.payoutFile(run.run, "pain001");
  assert.equal(file.id, "shop:2026-01-26:pain001");
  assert.equal(file.payouts, 1);
  assert.equal(file.sent, 1);
  assert.equal(file.alreadyRecorded, false);
  assert.equal(Buffer.byteLength(file.file), file.bytes);
  const again = await finance.payoutFile(run.run, "pain001");
  assert.equal(again.alreadyRecorded, true);
  assert.equal(again.file, file.file);
  assert.equal(await server.cliText(tokens.finance, ["payouts", run.run, "--format", "pain001"]), file.file);

  // The bank rejects it (AC04): a dry run judges and changes nothing; then applied once.
  const pain002 = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-01-27T09:30:00+01:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>shop:2026-01-26</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>shop:2026-01-26-EUR</OrgnlPmtInfId>
      <TxInfAndSts>
        <OrgnlEndToEndId>shop:2026-01-26:p1:EUR</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
`;
  const dry = await finance.importReport(pain002, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.applied, false);
  assert.equal(dry.matched, 1);
  const applied = await finance.importReport(pain002);
  assert.equal(applied.applied, true);
  assert.equal(applied.payoutsMoved, 1);
  assert.equal(applied.lines[0].payouts[0].after, "failed");
  const twice = await finance.importReport(pain002);
  assert.equal(twice.alreadyApplied, 1);
  assert.equal(twice.payoutsMoved, 0);
  await expectCode(finance.importReport("not a report"), "bad_request");
  await expectCode(auditor.payoutFile(run.run, "csv"), "not_allowed");
});
