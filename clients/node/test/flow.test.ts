// The whole flow against a real `tally serve`: posting, duplicates, bad items, balances now and as
// of a past time, statement paging, settlement dry run and real run, payout files, cross-role
// refusals; numbers compared with the `tally` CLI against the same server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { TallyClient, TallyError, type Item, type ItemResult } from "../dist/index.js";
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
});

after(async () => {
  for (const c of [poster, auditor, finance]) c?.close();
  await server.stop();
});

const at = "2026-01-05T10:00:00Z";

function entry(id: string, amount: string, account = "ops:wallets:w1", currency = "USD"): Item {
  return {
    type: "entry",
    id,
    at,
    kind: "deposit",
    meta: { ref: id },
    postings: [
      { account: "ops:bank", currency, side: "debit", amount },
      { account, currency, side: "credit", amount },
    ],
  };
}

function statuses(rs: ItemResult[]): string[] {
  return rs.map((r) => (r.status === "error" ? `${r.status}:${r.code}` : r.status));
}

async function expectCode(p: Promise<unknown>, code: string): Promise<TallyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TallyError, `expected a TallyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}

test("login grants the token's roles", () => {
  assert.deepEqual([...poster.roles], ["poster"]);
  assert.deepEqual([...auditor.roles], ["auditor"]);
  assert.deepEqual([...finance.roles].sort(), ["auditor", "finance"]);
});

test("an unknown token is unknown_token", async () => {
  await expectCode(server.client("no-such-token"), "unknown_token");
});

let dep1: ItemResult;

test("post: accounts, an entry and a sale, with the sale's breakdown", async () => {
  const rs = await poster.post([
    { type: "open", account: "ops:bank", kind: "asset", currencies: ["USD", "EUR"] },
    { type: "open", account: "ops:wallets:w1", kind: "liability", currencies: ["USD"], flags: ["no_overdraft"] },
    { type: "open", account: "ops:wallets:w2", kind: "liability", currencies: ["USD"] },
    entry("dep-1", "100.00"),
    { type: "sale", id: "o-1", at, marketplace: "shop", seller: "p1", amount: "120.00", currency: "EUR", category: "product", affiliate: "a7" },
    { type: "delivered", id: "d-1", at: "2026-01-06T10:00:00Z", marketplace: "shop", sale: "o-1" },
  ]);
  assert.deepEqual(statuses(rs), ["ok", "ok", "ok", "ok", "ok", "ok"]);
  assert.deepEqual(rs.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(rs.map((r) => r.id), ["ops:bank", "ops:wallets:w1", "ops:wallets:w2", "dep-1", "o-1", "d-1"]);
  dep1 = rs[3];
  assert.ok(dep1.seq! > 0);
  assert.match(dep1.committed!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(rs[0].seq, undefined);
  assert.deepEqual(rs[4].detail, { currency: "EUR", commission: "12.00", affiliate: "8.40", fee: "3.73", seller: "104.27" });
});

test("posting the same items again: duplicate with the original seq; other content: id_conflict", async () => {
  const rs = await poster.post([entry("dep-1", "100.00"), entry("dep-1", "99.00")]);
  assert.deepEqual(statuses(rs), ["duplicate", "error:id_conflict"]);
  assert.equal(rs[0].seq, dep1.seq);
  assert.equal(rs[0].committed, dep1.committed);
  assert.match(rs[1].message, /dep-1|id/);
});

test("bad items fail alone (with their linked chain), the others commit", async () => {
  const rs = await poster.post([
    entry("bad-num", 5 as unknown as string), // a number, not a decimal string: never sent
    entry("ok-1", "1.00"),
    { ...entry("bad-time", "1.00"), at: "2026-01-05" } as Item, // no time of day
    entry("bad-cur", "1.00", "ops:wallets:w1", "XYZ"), // no such currency
    { ...entry("chain-a", "1.00"), linked: true },
    entry("chain-b", "1.00", "ops:nope"), // unknown account: the server refuses it
    {
      type: "entry", id: "unbal", at, kind: "x",
      postings: [
        { account: "ops:bank", currency: "USD", side: "debit", amount: "5.00" },
        { account: "ops:wallets:w1", currency: "USD", side: "credit", amount: "4.99" },
      ],
    },
    { ...entry("chain-c", "1.00"), linked: true },
    entry("chain-d", "1.234"), // too many decimals: refused here, its chain with it
  ]);
  assert.deepEqual(statuses(rs), [
    "error:bad_amount",
    "ok",
    "error:bad_time",
    "error:bad_currency",
    "error:linked_failed",
    "error:unknown_account",
    "error:unbalanced",
    "error:linked_failed",
    "error:bad_amount",
  ]);
  assert.match(rs[0].message, /^postings\[0\]\.amount: /);
  assert.match(rs[2].message, /^at: /);
  assert.match(rs[3].message, /^postings\[0\]\.currency: /);
  assert.deepEqual(rs.map((r) => r.id), ["bad-num", "ok-1", "bad-time", "bad-cur", "chain-a", "chain-b", "unbal", "chain-c", "chain-d"]);
  // Nothing of the failed items reached the books.
  await expectCode(auditor.entry("chain-a"), "unknown_entry");
  await expectCode(auditor.entry("bad-cur"), "unknown_entry");
});

test("balances match the CLI's, now and as of a past commit time", async () => {
  const before = await auditor.balance("ops:wallets:w1");
  assert.equal(before.kind, "liability");
  assert.equal(before.noOverdraft, true);
  assert.deepEqual(before.balances, [{ currency: "USD", balance: "101.00" }]);
  const later = await poster.post([entry("dep-2", "50.25")]);
  assert.deepEqual(statuses(later), ["ok"]);

  const now = await auditor.balance("ops:wallets:w1", { currency: "USD" });
  assert.deepEqual(now.balances, [{ currency: "USD", balance: "151.25" }]);
  const past = await auditor.balance("ops:wallets:w1", { asOf: dep1.committed });
  assert.deepEqual(past.balances, [{ currency: "USD", balance: "100.00" }]);
  assert.equal(past.asOf, dep1.committed);

  const cliNow = await server.cli(tokens.auditor, ["balance", "ops:wallets:w1"]);
  assert.equal(cliNow.code, 0, cliNow.stderr);
  assert.deepEqual(cliNow.lines.map((l) => [l.currency, l.balance]), [["USD", "151.25"]]);
  const cliPast = await server.cli(tokens.auditor, ["balance", "ops:wallets:w1", "--as-of", dep1.committed!]);
  assert.deepEqual(cliPast.lines.map((l) => [l.currency, l.balance, l.as_of]), [["USD", "100.00", dep1.committed]]);

  const all = await auditor.balances("");
  const cliAll = await server.cli(tokens.auditor, ["balances", ""]);
  assert.deepEqual(all.accounts, cliAll.lines[0].accounts);
  assert.deepEqual(all.totals, cliAll.lines[0].totals);
  assert.ok(all.accounts.some((a) => a.account === "shop:payees:p1:pending" || a.account.startsWith("shop:")));

  const tb = await auditor.trialBalance();
  const cliTb = await server.cli(tokens.auditor, ["trial-balance"]);
  assert.deepEqual(tb.currencies, cliTb.lines[0].currencies);
  assert.ok(tb.currencies.every((c) => c.balanced));

  await expectCode(auditor.balance("ops:nope"), "unknown_account");
});

test("statement pages follow the cursor and match one long page and the CLI", async () => {
  const more: Item[] = [];
  for (let i = 0; i < 5; i++) more.push(entry(`page-${i}`, `${i + 1}.00`, "ops:wallets:w2"));
  assert.deepEqual(statuses(await poster.post(more)), ["ok", "ok", "ok", "ok", "ok"]);
  const whole = await auditor.statement("ops:wallets:w2", { limit: 100 });
  assert.equal(whole.next, null);
  assert.equal(whole.lines.length, 5);
  assert.deepEqual(whole.lines.map((l) => l.balance), ["1.00", "3.00", "6.00", "10.00", "15.00"]);
  const paged = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await auditor.statement("ops:wallets:w2", { limit: 2, after });
    assert.ok(page.lines.length <= 2);
    paged.push(...page.lines);
    if (page.next === null) break;
    after = page.next;
  }
  assert.deepEqual(paged, whole.lines);
  const cli = await server.cli(tokens.auditor, ["statement", "ops:wallets:w2", "--limit", "100"]);
  assert.deepEqual(
    whole.lines.map((l) => [l.seq, l.id, l.at, l.committed, l.currency, l.side, l.amount, l.balance]),
    cli.lines[0].lines.map((l: any) => [l.seq, l.id, l.at, l.committed, l.currency, l.side, l.amount, l.balance]),
  );
  await expectCode(auditor.statement("ops:wallets:w2", { after: "not-a-cursor" }), "bad_request");
});

test("entry, verify and export match the CLI", async () => {
  const e = await auditor.entry("dep-1");
  const cli = await server.cli(tokens.auditor, ["entry", "dep-1"]);
  const c = cli.lines[0];
  assert.deepEqual(
    { id: e.id, seq: e.seq, at: e.at, committed: e.committed, kind: e.kind, meta: e.meta, postings: e.postings, prevHash: e.prevHash, hash: e.hash },
    { id: c.id, seq: c.seq, at: c.at, committed: c.committed, kind: c.kind, meta: c.meta, postings: c.postings, prevHash: c.prev_hash, hash: c.hash },
  );
  const v = await auditor.verify();
  assert.equal(v.ok, true, v.problem);
  assert.equal(v.head, (await server.cli(tokens.auditor, ["verify"])).lines[0].head);
  const csv = await auditor.exportJournal("csv");
  assert.equal(csv.text, await server.cliText(tokens.auditor, ["export", "--format", "csv"]));
  assert.ok(csv.entries > 0);
  const chunks: Buffer[] = [];
  const streamed = await auditor.exportJournal("hledger", { onChunk: (b) => chunks.push(b) });
  assert.equal(streamed.text, "");
  assert.equal(Buffer.concat(chunks).toString(), await server.cliText(tokens.auditor, ["export", "--format", "hledger"]));
});

test("settlement: dry run, real run, replay, runs and payout files as the CLI's", async () => {
  const details = await finance.post([
    { type: "payee_details", id: "pd-1", at, marketplace: "shop", payee: "p1", name: "Paula One", account: "FR7630006000011234567890189", bic: "AGRIFRPPXXX" },
  ]);
  assert.deepEqual(statuses(details), ["ok"]);

  const dry = await finance.settle("shop", "2026-01-26", { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.run, "shop:2026-01-26");
  // The shop keeps a 10% rolling reserve (fixtures/marketplaces.toml): p1 is paid 93.84 of 104.27 and a7 carries 7.56 of 8.40 (the rest is kept).
  assert.deepEqual(dry.payouts.map((p) => [p.payee, p.currency, p.amount]), [["p1", "EUR", "93.84"]]);
  assert.deepEqual(dry.carried.map((c) => [c.payee, c.balance, c.reason]), [["a7", "7.56", "below_minimum"]]);
  assert.deepEqual(await finance.runs("shop"), []); // a dry run stores nothing

  const progress: number[] = [];
  const real = await finance.settle("shop", "2026-01-26", { onProgress: (p) => progress.push(p.done) });
  assert.equal(real.dryRun, false);
  assert.equal(real.existing, false);
  assert.equal(real.state, "complete");
  assert.deepEqual(real.payouts, dry.payouts);
  assert.deepEqual(real.released.map((r) => [r.payee, r.amount]), [["a7", "8.40"], ["p1", "104.27"]]);
  assert.deepEqual(real.paidTotals, [{ currency: "EUR", amount: "93.84" }]);

  const again = await finance.settle("shop", "2026-01-26");
  assert.equal(again.existing, true);
  assert.deepEqual(again.payouts, real.payouts);

  const runs = await finance.runs("shop");
  assert.deepEqual(runs.map((r) => [r.run, r.payDate, r.state, r.payeesPaid]), [["shop:2026-01-26", "2026-01-26", "complete", 1]]);
  const cliRuns = await server.cli(tokens.finance, ["runs", "shop"]);
  assert.equal(cliRuns.code, 0, cliRuns.stderr);

  for (const format of ["csv", "pain001"] as const) {
    const file = await finance.payouts("shop:2026-01-26", format);
    assert.equal(file.bytes, Buffer.byteLength(file.file));
    assert.equal(file.file, await server.cliText(tokens.finance, ["payouts", "shop:2026-01-26", "--format", format]));
  }
  const csv = await finance.payouts("shop:2026-01-26", "csv");
  assert.match(csv.file, /^payout,payee,currency,amount,creditor_name,creditor_account\n/);
  assert.match(csv.file, /shop:2026-01-26:p1:EUR,p1,EUR,93\.84,/);

  // The payee's pending and available now match the CLI's.
  const p1 = await finance.balances("shop:payees:p1");
  const cliP1 = await server.cli(tokens.finance, ["balances", "shop:payees:p1"]);
  assert.deepEqual(p1.accounts, cliP1.lines[0].accounts);

  await expectCode(finance.settle("shop", "2026-01-27"), "not_a_pay_date");
  await expectCode(finance.settle("nope", "2026-01-26"), "unknown_marketplace");
  await expectCode(finance.payouts("shop:2031-01-01", "csv"), "unknown_run");
});

test("finance: holds on and off, and closing a period", async () => {
  const hold1 = { on: true, reason: "kyc pending", id: "hold-p2-1", at: "2026-01-06T09:00:00Z" };
  const h = await finance.hold("shop", "p2", hold1);
  assert.deepEqual([h.status, h.id], ["ok", "hold-p2-1"]);
  // The same id and time again (a retry): a duplicate with the original's result.
  const again = await finance.hold("shop", "p2", hold1);
  assert.deepEqual([again.status, again.id], ["duplicate", "hold-p2-1"]);
  await expectCode(finance.hold("shop", "p2", { ...hold1, reason: "other" }), "id_conflict");
  await expectCode(finance.hold("shop", "p2", { on: true, reason: "r", id: "hold-p2-2" }), "bad_time");
  const off = await finance.hold("shop", "p2", { on: false, reason: "kyc done" });
  assert.equal(off.status, "ok");
  assert.match(off.id, /^hold:shop:p2:\d+$/);
  // payee_terms: finance's only; a retry is a duplicate; the server's rules name a bad field.
  const terms = { type: "payee_terms", id: "pt-p2", at, marketplace: "shop", payee: "p2",
    reserve: { rate: "5%", days: 28 }, minimum_balance: { EUR: "20.00" } } as Item;
  assert.deepEqual(statuses(await finance.post([terms])), ["ok"]);
  assert.deepEqual(statuses(await finance.post([terms])), ["duplicate"]);
  assert.deepEqual(statuses(await poster.post([{ ...terms, id: "pt-x" } as Item])), ["error:not_allowed"]);
  const [badDays] = await finance.post([{ ...terms, id: "pt-y", reserve: { rate: "5%", days: 0 } } as Item]);
  assert.equal(badDays.code, "bad_request");
  assert.match(badDays.message, /^reserve\.days: /);
  const closed = await finance.closePeriod("2025-12-31");
  assert.deepEqual(closed, { through: "2025-12-31", end: "2026-01-01T00:00:00Z" });
  const rs = await poster.post([{ ...entry("late", "1.00"), at: "2025-12-30T12:00:00Z" } as Item]);
  assert.deepEqual(statuses(rs), ["error:period_closed"]);
});

test("cross-role refusals: the token's roles decide, client and server side", async () => {
  // A method of a role the token lacks: refused before any call.
  await expectCode(poster.balance("ops:bank"), "not_allowed");
  await expectCode(poster.settle("shop", "2026-01-26"), "not_allowed");
  await expectCode(auditor.post([entry("x-1", "1.00")]), "not_allowed");
  await expectCode(auditor.hold("shop", "p1", { on: true, reason: "r" }), "not_allowed");
  // Items the role may not post: refused by the server, item by item.
  const rs = await poster.post([
    { type: "payout_result", id: "pr-1", at, marketplace: "shop", payout: "shop:2026-01-26:p1:EUR", status: "paid" },
    { type: "payee_details", id: "pd-x", at, marketplace: "shop", payee: "p9", name: "N", account: "FR7630006000011234567890189" },
    entry("allowed", "1.00"),
  ]);
  assert.deepEqual(statuses(rs), ["error:not_allowed", "error:not_allowed", "ok"]);
  const fs = await finance.post([{ type: "sale", id: "o-f", at, marketplace: "shop", seller: "p1", amount: "1.00", currency: "EUR", category: "product" }]);
  assert.deepEqual(statuses(fs), ["error:not_allowed"]);
});

test("postAll: batches within the limit, chains kept whole, results in order", async () => {
  const items: Item[] = [];
  for (let i = 0; i < 23; i++) {
    const it = entry(`all-${i}`, "0.01");
    if (i % 5 === 3) (it as { linked?: boolean }).linked = true; // chains of 2 across batch edges
    items.push(it);
  }
  items[11] = entry("all-11", "1.001"); // a bad item, not in a chain: fails alone
  const rs = await poster.postAll(items, { batchItems: 4, window: 3 });
  assert.equal(rs.length, 23);
  assert.deepEqual(rs.map((r) => r.index), items.map((_, i) => i));
  assert.deepEqual(rs.map((r) => r.id), items.map((it) => (it as { id: string }).id));
  assert.equal(rs[11].code, "bad_amount");
  assert.ok(rs.every((r, i) => i === 11 || r.status === "ok"), JSON.stringify(rs.filter((r) => r.status !== "ok")));
  // Again: every one a duplicate, with the same seqs.
  const again = await poster.postAll(items, { batchItems: 7 });
  assert.deepEqual(again.map((r) => r.seq), rs.map((r) => r.seq));
  assert.ok(again.every((r, i) => i === 11 || r.status === "duplicate"));
  // A chain longer than a batch cannot be posted.
  const chain = [{ ...entry("long-0", "1.00"), linked: true }, { ...entry("long-1", "1.00"), linked: true }, entry("long-2", "1.00")] as Item[];
  const e = await expectCode(poster.postAll(chain, { batchItems: 2 }), "batch_too_large");
  assert.equal(e.index, 0);
});

test("a batch over the server's limit is batch_too_large for every item, nothing posted", async () => {
  const items: Item[] = [];
  for (let i = 0; i < 10_001; i++) items.push({ type: "close", account: `ops:none:${i}` });
  const rs = await poster.post(items, { timeoutMs: 120_000 });
  assert.equal(rs.length, 10_001);
  assert.ok(rs.every((r) => r.code === "batch_too_large"));
});
