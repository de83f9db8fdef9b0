// The wire's result structs into the plain objects of types.ts. Reads only; nothing here throws on
// well-formed messages. A code or enum value this client does not know reads as "internal" (the
// schema's rule for codes added later).
import type * as w from "./gen/tally.js";
import {
  AccountKindNames,
  CarryReasonNames,
  ErrorCodeNames,
  ItemStatusNames,
  RunStateNames,
  SideNames,
} from "./gen/names.js";
import { TallyError, type ErrorCode } from "./errors.js";
import type * as t from "./types.js";
import { formatTime, toCount, toHex } from "./values.js";

function name<T extends readonly string[]>(names: T, v: number, fallback: T[number]): T[number] {
  return names[v] ?? fallback;
}

export function codeName(v: number): ErrorCode {
  return name(ErrorCodeNames, v, "internal");
}

/**
 * A read's `error` as a TallyError, or null when it is unset or ok. An error field past the
 * results struct's pointer section (capnp-es 0.0.16 throws reading one, where Cap'n Proto reads
 * null) is unset.
 */
export function readError(res: { _hasError(): boolean; readonly error: w.Error }): TallyError | null {
  try {
    if (!res._hasError()) return null;
  } catch {
    return null;
  }
  const e = res.error;
  return e.code === 0 ? null : new TallyError(codeName(e.code), e.message);
}

// Money arrives as the server prints it: a decimal string with exactly the currency's exponent
// digits, and a currency code.
function money(ca: w.CurrencyAmount): t.Money {
  return { currency: ca.currency, amount: ca.amount };
}

function balance(ca: w.CurrencyAmount): t.Balance {
  return { currency: ca.currency, balance: ca.amount };
}

function list<S, R>(l: { length: number; get(i: number): S }, f: (s: S) => R): R[] {
  const out: R[] = [];
  for (let i = 0; i < l.length; i++) out.push(f(l.get(i)));
  return out;
}

export function itemResult(r: w.ItemResult, index: number): t.ItemResult {
  const out: t.ItemResult = {
    index,
    id: r.id,
    status: name(ItemStatusNames, r.status, "error"),
    code: codeName(r.code),
    message: r.message,
  };
  if (r.seq !== 0n) {
    out.seq = toCount(r.seq);
    out.committed = formatTime(r.commitNs);
  }
  if (r.detail !== "") {
    try {
      out.detail = JSON.parse(r.detail) as Record<string, string>;
    } catch {
      out.detail = { text: r.detail };
    }
  }
  return out;
}

export function balanceResult(r: w.BalanceResult): t.BalanceResult {
  return {
    account: r.account,
    kind: name(AccountKindNames, r.kind, "asset"),
    noOverdraft: r.noOverdraft,
    closed: r.closed,
    asOf: formatTime(r.asOf),
    balances: list(r.balances, balance),
    opened: r.openedNs === 0n ? null : formatTime(r.openedNs),
    notYetOpened: r.notYetOpened,
  };
}

export function balancesResult(r: w.BalancesResult): t.BalancesResult {
  return {
    prefix: r.prefix,
    asOf: formatTime(r.asOf),
    accounts: list(r.accounts, (row) => ({
      account: row.account,
      currency: row.currency,
      balance: row.balance,
    })),
    totals: list(r.totals, balance),
  };
}

export function statementResult(r: w.StatementResult): t.StatementResult {
  return {
    account: r.account,
    kind: name(AccountKindNames, r.kind, "asset"),
    lines: list(r.lines, (l) => ({
      seq: toCount(l.seq),
      id: l.entryId,
      kind: l.kind,
      at: formatTime(l.at),
      committed: formatTime(l.commitNs),
      currency: l.currency,
      side: name(SideNames, l.side, "debit"),
      amount: l.amount,
      balance: l.balanceAfter,
    })),
    next: r.next === "" ? null : r.next,
  };
}

export function entryView(r: w.EntryView): t.EntryView {
  const e = r.entry;
  const meta: t.Meta = {};
  for (const kv of list(e.meta, (kv) => kv)) meta[kv.key] = kv.value;
  return {
    id: e.id,
    seq: toCount(r.seq),
    at: e.at,
    committed: formatTime(r.commitNs),
    kind: e.kind,
    meta,
    postings: list(e.postings, (p) => ({
      account: p.account,
      currency: p.currency,
      side: name(SideNames, p.side, "debit"),
      amount: p.amount,
    })),
    prevHash: toHex(r.prevHash.toUint8Array()),
    hash: toHex(r.hash.toUint8Array()),
  };
}

export function trialBalance(r: w.TrialBalance): t.TrialBalance {
  return {
    asOf: formatTime(r.asOf),
    // Both sums print the currency's exponent digits, so equal amounts are equal strings.
    currencies: list(r.currencies, (row) => ({
      currency: row.currency,
      debits: row.debits,
      credits: row.credits,
      balanced: row.debits === row.credits,
    })),
  };
}

export function verifyReport(r: w.VerifyReport): t.VerifyReport {
  return {
    ok: r.ok,
    entries: toCount(r.entries),
    postings: toCount(r.postings),
    problem: r.problem,
    head: toHex(r.head.toUint8Array()),
  };
}

type Rows<S> = { length: number; get(i: number): S };
// The rows of a run (in a Run or a RunRows.rows call). The reserve lists and a payout's tax and
// kept are absent from a server that predates them: empty lists and "0.00".
export function runRows(r: {
  released: Rows<w.ReleasedLine>;
  payouts: Rows<w.PayoutLine>;
  carried: Rows<w.CarriedLine>;
  _hasReserved(): boolean;
  reserved: Rows<w.ReleasedLine>;
  _hasReserveReleased(): boolean;
  reserveReleased: Rows<w.ReleasedLine>;
}): t.RunRows {
  const released = (l: w.ReleasedLine) => ({ payee: l.payee, ...money(l.amount) });
  const none: Rows<w.ReleasedLine> = { length: 0, get: () => undefined as never };
  return {
    released: list(r.released, released),
    payouts: list(r.payouts, (l) => {
      const m = money(l.amount);
      const zero = zeroLike(m.amount);
      return {
        payout: l.payout,
        payee: l.payee,
        ...m,
        tax: has(() => l._hasTax()) ? l.tax.amount : zero,
        kept: has(() => l._hasKept()) ? l.kept.amount : zero,
      };
    }),
    carried: list(r.carried, (l) => {
      const b = balance(l.balance);
      return { payee: l.payee, currency: b.currency, balance: b.balance, reason: name(CarryReasonNames, l.reason, "negative") };
    }),
    reserved: list(has(() => r._hasReserved()) ? r.reserved : none, released),
    reserveReleased: list(has(() => r._hasReserveReleased()) ? r.reserveReleased : none, released),
  };
}

// Zero with the same number of fraction digits as `amount` ("93.84" -> "0.00", "5" -> "0").
function zeroLike(amount: string): string {
  const dot = amount.indexOf(".");
  return dot < 0 ? "0" : "0." + "0".repeat(amount.length - dot - 1);
}

export function run(r: w.Run, rows: t.RunRows): t.Run {
  const own = runRows(r);
  return {
    run: r.run,
    marketplace: r.marketplace,
    payDate: r.payDate,
    cutoff: formatTime(r.cutoff),
    dryRun: r.dryRun,
    existing: r.existing,
    state: name(RunStateNames, r.state, "in_progress"),
    chunks: toCount(r.chunks),
    payees: toCount(r.payees),
    // Rows come through the RunRows sink; a server that still lists them in the reply adds them.
    released: [...rows.released, ...own.released],
    payouts: [...rows.payouts, ...own.payouts],
    carried: [...rows.carried, ...own.carried],
    reserved: [...rows.reserved, ...own.reserved],
    reserveReleased: [...rows.reserveReleased, ...own.reserveReleased],
    paidTotals: list(r.paidTotals, money),
    totals: list(r.totals, (x) => ({
      currency: x.currency,
      released: x.released,
      paid: x.paid,
      carried: x.carried,
      payeesPaid: toCount(x.payeesPaid),
      payeesCarried: toCount(x.payeesCarried),
      // Empty from a server that predates them: zero.
      reserved: x.reserved || zeroLike(x.paid),
      reserveReleased: x.reserveReleased || zeroLike(x.paid),
      tax: x.tax || zeroLike(x.paid),
      kept: x.kept || zeroLike(x.paid),
    })),
  };
}

export function runSummary(r: w.RunSummary): t.RunSummary {
  return {
    run: r.run,
    marketplace: r.marketplace,
    payDate: r.payDate,
    cutoff: formatTime(r.cutoff),
    committed: r.committedNs === 0n ? null : formatTime(r.committedNs),
    payeesPaid: toCount(r.payeesPaid),
    payeesCarried: toCount(r.payeesCarried),
    paidTotals: list(r.paidTotals, money),
    state: name(RunStateNames, r.state, "in_progress"),
    chunks: toCount(r.chunks),
    payees: toCount(r.payees),
  };
}

// A pointer field that may be null (capnp-es 0.0.16 may throw reading one: absent).
function has(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

function reserveInfo(r: w.ReserveInfo): { rate: string; days: number } {
  return { rate: r.rate, days: r.days };
}

export function marketplaceInfo(r: w.MarketplaceInfo): t.MarketplaceInfo {
  const commission: Record<string, string> = {};
  for (const c of list(r.commission, (x) => x)) commission[c.name] = c.rate;
  const s = r.schedule;
  const schedule: t.MarketplaceInfo["schedule"] = { form: s.form };
  if (s.form === "every_days") {
    schedule.everyDays = s.everyDays;
    schedule.anchor = s.anchor;
  } else if (s.form === "weekly") {
    schedule.weekdays = list(s.weekdays, (x) => x);
  } else if (s.form === "monthly_days") {
    schedule.monthDays = list(s.monthDays, (x) => x);
  }
  const a = has(() => r._hasAch()) ? r.ach : null;
  const co = has(() => r._hasCoDispersion()) ? r.coDispersion : null;
  const tax = has(() => r._hasPayoutTax()) ? r.payoutTax : null;
  return {
    name: r.name,
    currencies: list(r.currencies, (c) => ({ code: c.code, exponent: c.exponent })),
    timezone: r.timezone,
    rounding: r.rounding,
    commission,
    affiliateRate: r.affiliateRate === "" ? null : r.affiliateRate, // null Text reads as ""
    feeRate: r.feeRate,
    feeFixed: list(r.feeFixed, money),
    feePayer: r.feePayer,
    holdDays: r.holdDays,
    holdFrom: r.holdFrom,
    schedule,
    minimumPayout: list(r.minimumPayout, money),
    holidays: list(r.holidays, (x) => x),
    payoutAccount: { name: r.payoutAccountName, iban: r.payoutAccountIban, bic: r.payoutAccountBic },
    earning: list(r.earning, (e) => ({ name: e.name, rate: e.rate, minimum: list(e.minimum, money) })),
    reserve: has(() => r._hasReserve()) ? reserveInfo(r.reserve) : null,
    minimumBalance: list(r.minimumBalance, money),
    payoutTax: tax
      ? { rate: tax.rate, account: tax.account, rounding: tax.rounding, currency: tax.currency === "" ? null : tax.currency }
      : null,
    ach: a
      ? {
          companyName: a.companyName,
          companyId: a.companyId,
          odfiRouting: a.odfiRouting,
          immediateDestination: a.immediateDestination,
          immediateDestinationName: a.immediateDestinationName,
          immediateOrigin: a.immediateOrigin,
          immediateOriginName: a.immediateOriginName,
          entryDescription: a.entryDescription,
        }
      : null,
    coDispersion: co
      ? {
          companyNit: co.companyNit,
          companyName: co.companyName,
          bankCode: co.bankCode,
          accountType: co.accountType,
          account: co.account,
        }
      : null,
    from: r.from,
    payDates: list(r.payDates, (p) => ({ date: p.date, scheduled: p.scheduled, cutoff: formatTime(p.cutoff) })),
  };
}

function payeeHold(h: w.PayeeHoldInfo): t.PayeeHoldInfo {
  return {
    origin: h.origin,
    currency: h.currency,
    original: h.original,
    remaining: h.remaining,
    release: h.releaseKnown ? formatTime(h.release) : null,
    created: formatTime(h.created),
  };
}

export function payeeInfo(r: w.PayeeInfo): t.PayeeInfo {
  return {
    marketplace: r.marketplace,
    payee: r.payee,
    hold: { on: r.onHold, reason: r.holdReason, since: r.holdKnown ? formatTime(r.holdSince) : null },
    details: list(r.details, (x) => ({
      at: formatTime(x.at),
      id: x.eventId,
      name: x.name,
      account: x.account,
      bic: x.bic,
      ach: has(() => x._hasAch())
        ? { routing: x.ach.routing, account: x.ach.account, accountType: x.ach.accountType, receiverKind: x.ach.receiverKind }
        : null,
      co: has(() => x._hasCo())
        ? {
            bankCode: x.co.bankCode,
            accountType: x.co.accountType,
            accountNumber: x.co.accountNumber,
            documentType: x.co.documentType,
            documentNumber: x.co.documentNumber,
          }
        : null,
    })),
    holds: list(r.holds, payeeHold),
    reserves: list(r.reserves, payeeHold),
    terms: list(r.terms, (x) => ({
      at: formatTime(x.at),
      id: x.eventId,
      reserve: has(() => x._hasReserve()) ? reserveInfo(x.reserve) : null,
      minimumBalance: list(x.minimumBalance, money),
    })),
  };
}

export function accountPage(r: w.AccountPage): t.AccountPage {
  return {
    prefix: r.prefix,
    next: r.next,
    accounts: list(r.accounts, (a) => ({
      account: a.account,
      kind: name(AccountKindNames, a.kind, "asset"),
      noOverdraft: a.noOverdraft,
      closed: a.closed,
      currencies: list(a.currencies, (c) => c.code),
    })),
  };
}

export function reportImport(r: w.ReportImport): t.ReportImport {
  return {
    format: r.format,
    messageId: r.messageId,
    dryRun: r.dryRun,
    applied: r.applied,
    lines: list(r.lines, (l) => ({
      location: l.location,
      line: toCount(l.line),
      reference: l.reference,
      outcome: l.outcome,
      status: l.status,
      message: l.message,
      payouts: list(l.payouts, (p) => ({ payout: p.payout, before: p.before, after: p.after, status: p.status })),
    })),
    matched: toCount(r.matched),
    alreadyApplied: toCount(r.alreadyApplied),
    unmatched: toCount(r.unmatched),
    contradictory: toCount(r.contradictory),
    mismatched: toCount(r.mismatched),
    informational: toCount(r.informational),
    payoutsMoved: toCount(r.payoutsMoved),
  };
}

export function serverInfo(r: w.ServerInfo): t.ServerInfo {
  return {
    version: r.version,
    batchItemsMax: toCount(r.batchItemsMax),
    idBytesMax: toCount(r.idBytesMax),
    postingsPerEntryMax: toCount(r.postingsPerEntryMax),
    metaBytesMax: toCount(r.metaBytesMax),
    messageWordsMax: toCount(r.messageWordsMax),
    connectionsMax: toCount(r.connectionsMax),
    longReadsMax: toCount(r.longReadsMax),
    streamCallsInFlightMax: toCount(r.streamCallsInFlightMax),
    loginTimeoutMs: toCount(r.loginTimeoutMs),
    idleTimeoutMs: toCount(r.idleTimeoutMs),
    unauthenticatedBytesMax: toCount(r.unauthenticatedBytesMax),
    callsInFlightMax: toCount(r.callsInFlightMax),
    replyQueuedBytesMax: toCount(r.replyQueuedBytesMax),
    callWordsInFlightMax: toCount(r.callWordsInFlightMax),
    leaseTtlS: toCount(r.leaseTtlS),
  };
}
