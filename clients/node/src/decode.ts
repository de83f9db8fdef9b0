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

export function runRows(
  released: { length: number; get(i: number): w.ReleasedLine },
  payouts: { length: number; get(i: number): w.PayoutLine },
  carried: { length: number; get(i: number): w.CarriedLine },
): t.RunRows {
  return {
    released: list(released, (l) => ({ payee: l.payee, ...money(l.amount) })),
    payouts: list(payouts, (l) => ({ payout: l.payout, payee: l.payee, ...money(l.amount) })),
    carried: list(carried, (l) => {
      const b = balance(l.balance);
      return { payee: l.payee, currency: b.currency, balance: b.balance, reason: name(CarryReasonNames, l.reason, "negative") };
    }),
  };
}

export function run(r: w.Run, rows: t.RunRows): t.Run {
  const own = runRows(r.released, r.payouts, r.carried);
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
    paidTotals: list(r.paidTotals, money),
    totals: list(r.totals, (x) => ({
      currency: x.currency,
      released: x.released,
      paid: x.paid,
      carried: x.carried,
      payeesPaid: toCount(x.payeesPaid),
      payeesCarried: toCount(x.payeesCarried),
    })),
  };
}

export function runSummary(r: w.RunSummary): t.RunSummary {
  return {
    run: r.run,
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
