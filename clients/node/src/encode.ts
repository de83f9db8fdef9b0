// Items (the plain shapes of types.ts) into the wire's Item structs.
//
// check() validates an item completely before anything is built, so a bad item becomes that
// item's own error result (as on the server: it fails alone with its linked chain) and never a
// half-built message. encode() then cannot fail. Amounts go on the wire as the decimal text given
// (the server checks them as it checks JSON); check() refuses, before sending, an amount with more
// fraction digits than its currency's exponent, so the caller resolves the exponents first
// (currencyCodes() says which) and passes them in `exponents`.
import * as w from "./gen/tally.js";
import { AccountKindNames, SideNames } from "./gen/names.js";
import { TallyError } from "./errors.js";
import type { EntryItem, EventItem, Item, Meta, PayeeTermsItem } from "./types.js";
import { parseMinor, parseTime } from "./values.js";

/** Currency code -> exponent, as the server's ledger has them. */
export type Exponents = Map<string, number>;

const eventTypes = new Set([
  "sale",
  "delivered",
  "refund",
  "chargeback",
  "earning",
  "pass_through",
  "payee_hold",
  "payee_details",
  "payout_result",
  "payee_terms",
]);

/** The events only the finance role may post; payee_hold either role. */
export const financeOnlyTypes = new Set(["payee_details", "payout_result", "payee_terms"]);
export const financeTypes = new Set(["payee_details", "payout_result", "payee_terms", "payee_hold"]);

/** The currency codes whose exponents encoding `items` needs. */
export function currencyCodes(items: readonly Item[]): Set<string> {
  const codes = new Set<string>();
  for (const item of items) {
    if (item?.type === "open" && Array.isArray(item.currencies)) {
      for (const c of item.currencies) if (typeof c === "string") codes.add(c);
    } else if (item?.type === "entry" && Array.isArray(item.postings)) {
      for (const p of item.postings) if (typeof p?.currency === "string") codes.add(p.currency);
    }
  }
  return codes;
}

/** The item's id for its result: the entry or event id, the account, or the asset code. */
export function itemId(item: Item): string {
  const x = item as unknown as Record<string, unknown>;
  const id = item?.type === "open" || item?.type === "close" ? x.account : item?.type === "asset" ? x.code : x.id;
  return typeof id === "string" ? id : "";
}

function fail(code: "bad_request" | "bad_currency", message: string): never {
  throw new TallyError(code, message);
}

function str(x: Record<string, unknown>, field: string, optional = false): void {
  const v = x[field];
  if (v === undefined && optional) return;
  if (typeof v !== "string") fail("bad_request", `${field}: must be a string`);
}

function checkMeta(meta: unknown): void {
  if (meta === undefined) return;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    fail("bad_request", "meta: must be an object of strings");
  }
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== "string") fail("bad_request", `meta.${k}: must be a string`);
  }
}

function exponentOf(code: string, exponents: Exponents, field: string): number {
  const e = exponents.get(code);
  if (e === undefined) fail("bad_currency", `${field}: unknown currency "${code}"`);
  return e;
}

const eventFields: Record<string, [string, boolean][]> = {
  sale: [["seller", false], ["amount", false], ["currency", false], ["category", false], ["affiliate", true]],
  delivered: [["sale", false]],
  refund: [["sale", false], ["amount", false]],
  chargeback: [["sale", false], ["amount", false], ["fee", true]],
  earning: [["payee", false], ["basis", false], ["currency", false], ["rule", false]],
  pass_through: [["payer", false], ["vendor", false], ["amount", false], ["currency", false]],
  payee_hold: [["payee", false], ["reason", false]],
  payee_details: [["payee", false], ["name", false], ["account", false], ["bic", true]],
  payout_result: [["payout", false], ["reason", true]],
  payee_terms: [["payee", false]],
};

/**
 * Throws TallyError (bad_request, bad_amount, bad_time, bad_currency) naming the field when the
 * item cannot be encoded. `exponents` gains an `asset` item's declaration (a later item of the
 * same list may use it).
 */
export function check(item: Item, exponents: Exponents): void {
  if (typeof item !== "object" || item === null) fail("bad_request", "item: must be an object");
  const x = item as unknown as Record<string, unknown>;
  if (x.linked !== undefined && typeof x.linked !== "boolean") {
    fail("bad_request", "linked: must be true or false");
  }
  switch (item.type) {
    case "open":
      str(x, "account");
      if (!AccountKindNames.includes(item.kind)) fail("bad_request", `kind: unknown kind "${item.kind}"`);
      if (!Array.isArray(item.currencies)) fail("bad_request", "currencies: must be a list of codes");
      item.currencies.forEach((c, i) => exponentOf(c, exponents, `currencies[${i}]`));
      if (item.flags !== undefined) {
        if (!Array.isArray(item.flags)) fail("bad_request", "flags: must be a list");
        item.flags.forEach((f, i) => {
          if (f !== "no_overdraft") fail("bad_request", `flags[${i}]: unknown flag "${f}"`);
        });
      }
      return;
    case "close":
      str(x, "account");
      return;
    case "asset":
      str(x, "code");
      if (!Number.isInteger(item.exponent) || item.exponent < 0 || item.exponent > 18) {
        fail("bad_request", "exponent: must be an integer 0..18");
      }
      exponents.set(item.code, item.exponent);
      return;
    case "entry":
      return checkEntry(item, exponents);
    default:
      if (!eventTypes.has(item.type)) {
        fail("bad_request", `type: unknown type ${JSON.stringify((x as { type?: unknown }).type)}`);
      }
      return checkEvent(item, x);
  }
}

function checkEntry(item: EntryItem, exponents: Exponents): void {
  const x = item as unknown as Record<string, unknown>;
  str(x, "id");
  str(x, "kind");
  parseTime(item.at, "at");
  checkMeta(item.meta);
  if (!Array.isArray(item.postings)) fail("bad_request", "postings: must be a list");
  item.postings.forEach((p, i) => {
    const f = `postings[${i}]`;
    if (typeof p !== "object" || p === null) fail("bad_request", `${f}: must be an object`);
    if (typeof p.account !== "string") fail("bad_request", `${f}.account: must be a string`);
    if (typeof p.currency !== "string") fail("bad_request", `${f}.currency: must be a string`);
    if (!SideNames.includes(p.side)) fail("bad_request", `${f}.side: must be debit or credit`);
    parseMinor(p.amount, exponentOf(p.currency, exponents, `${f}.currency`), `${f}.amount`);
  });
}

function checkEvent(item: EventItem, x: Record<string, unknown>): void {
  str(x, "id");
  str(x, "marketplace");
  parseTime(item.at, "at");
  checkMeta(item.meta);
  for (const [field, optional] of eventFields[item.type]) str(x, field, optional);
  if (item.type === "payee_hold" && typeof item.on !== "boolean") {
    fail("bad_request", "on: must be true or false");
  }
  if (item.type === "payout_result" && item.status !== "paid" && item.status !== "failed") {
    fail("bad_request", "status: must be paid or failed");
  }
  if (item.type === "payee_terms") checkTerms(item);
}

// JSON types only, as `tally post` reads them: the server's rules check the values (the rate, the
// days' range, each amount and currency) and name the field.
function checkTerms(item: PayeeTermsItem): void {
  if (item.reserve !== undefined) {
    const r = item.reserve as unknown;
    if (typeof r !== "object" || r === null || Array.isArray(r)) fail("bad_request", "reserve: must be an object");
    const x = r as Record<string, unknown>;
    str(x, "rate");
    if (typeof x.days !== "number" || !Number.isSafeInteger(x.days)) {
      fail("bad_request", "reserve.days: must be an integer");
    }
  }
  if (item.minimum_balance !== undefined) {
    const m = item.minimum_balance as unknown;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      fail("bad_request", "minimum_balance: must be an object of amounts by currency");
    }
    for (const [code, amount] of Object.entries(m as Record<string, unknown>)) {
      if (typeof amount !== "string") {
        throw new TallyError("bad_amount", `minimum_balance.${code}: must be a string like "12.50"`);
      }
    }
  }
}

function setMeta(init: (n: number) => { get(i: number): w.KeyValue }, meta: Meta | undefined) {
  const entries = Object.entries(meta ?? {});
  const list = init(entries.length);
  entries.forEach(([k, v], i) => {
    list.get(i).key = k;
    list.get(i).value = v;
  });
}

/** Fills `out` with a checked item. */
export function encode(item: Item, out: w.Item, exponents: Exponents): void {
  out.linked = item.linked === true;
  switch (item.type) {
    case "open": {
      const o = out._initOpen();
      o.account = item.account;
      o.kind = AccountKindNames.indexOf(item.kind) as w.AccountKind;
      const cs = o._initCurrencies(item.currencies.length);
      item.currencies.forEach((code, i) => cs.set(i, code));
      o.noOverdraft = (item.flags ?? []).includes("no_overdraft");
      return;
    }
    case "close":
      out._initClose().account = item.account;
      return;
    case "asset": {
      const a = out._initAsset();
      a.code = item.code;
      a.exponent = item.exponent;
      return;
    }
    case "entry": {
      const e = out._initEntry();
      e.id = item.id;
      e.at = item.at;
      e.kind = item.kind;
      setMeta((n) => e._initMeta(n), item.meta);
      const ps = e._initPostings(item.postings.length);
      item.postings.forEach((p, i) => {
        const wp = ps.get(i);
        wp.account = p.account;
        wp.currency = p.currency;
        wp.side = SideNames.indexOf(p.side) as w.Side;
        wp.amount = p.amount;  // checked: the decimal text as given, as in JSON
      });
      return;
    }
    default:
      return encodeEvent(item, out._initEvent());
  }
}

function encodeEvent(item: EventItem, e: w.Event): void {
  e.id = item.id;
  e.at = item.at;
  e.marketplace = item.marketplace;
  setMeta((n) => e._initMeta(n), item.meta);
  switch (item.type) {
    case "sale": {
      const s = e._initSale();
      s.seller = item.seller;
      s.amount = item.amount;
      s.currency = item.currency;
      s.category = item.category;
      if (item.affiliate !== undefined) s.affiliate = item.affiliate;
      return;
    }
    case "delivered":
      e._initDelivered().sale = item.sale;
      return;
    case "refund": {
      const r = e._initRefund();
      r.sale = item.sale;
      r.amount = item.amount;
      return;
    }
    case "chargeback": {
      const c = e._initChargeback();
      c.sale = item.sale;
      c.amount = item.amount;
      if (item.fee !== undefined) c.fee = item.fee;
      return;
    }
    case "earning": {
      const r = e._initEarning();
      r.payee = item.payee;
      r.basis = item.basis;
      r.currency = item.currency;
      r.rule = item.rule;
      return;
    }
    case "pass_through": {
      const p = e._initPassThrough();
      p.payer = item.payer;
      p.vendor = item.vendor;
      p.amount = item.amount;
      p.currency = item.currency;
      return;
    }
    case "payee_hold": {
      const h = e._initPayeeHold();
      h.payee = item.payee;
      h.on = item.on;
      h.reason = item.reason;
      return;
    }
    case "payee_details": {
      const d = e._initPayeeDetails();
      d.payee = item.payee;
      d.name = item.name;
      d.account = item.account;
      d.bic = item.bic ?? "";
      return;
    }
    case "payout_result": {
      const r = e._initPayoutResult();
      r.payout = item.payout;
      r.status = item.status === "paid" ? w.PayoutStatus.PAID : w.PayoutStatus.FAILED;
      r.reason = item.reason ?? "";
      return;
    }
    case "payee_terms": {
      const t = e._initPayeeTerms();
      t.payee = item.payee;
      if (item.reserve !== undefined) {
        const r = t._initReserve();
        r.rate = item.reserve.rate;
        r.days = BigInt(item.reserve.days);
      }
      const kept = Object.entries(item.minimum_balance ?? {});
      if (kept.length > 0) {
        const list = t._initMinimumBalance(kept.length);
        kept.forEach(([currency, amount], i) => {
          list.get(i).currency = currency;
          list.get(i).amount = amount;
        });
      }
      return;
    }
  }
}
