// The plain objects this package takes and returns. Money is always a decimal string in the
// currency's own decimals ("120.00", "-0.25", JPY "1500"); times are RFC 3339 strings (UTC on the
// way out); counts and sequence numbers are numbers. Items have exactly the shapes of
// `tally post`'s JSON Lines (docs/cli.md), so a parsed line is an item.
import type { ErrorCode } from "./errors.js";
import type {
  AccountKindNames,
  CarryReasonNames,
  RunStateNames,
  SideNames,
} from "./gen/names.js";

export type AccountKind = (typeof AccountKindNames)[number];
export type Side = (typeof SideNames)[number];
export type Role = "poster" | "auditor" | "finance" | "replica"; // replica: a standby's own login
export type CarryReason = (typeof CarryReasonNames)[number];
export type RunState = (typeof RunStateNames)[number];
export type Meta = Record<string, string>;

// --- items --------------------------------------------------------------------------------------

interface ItemBase {
  /** This item and the next commit or fail together. */
  linked?: boolean;
}

export interface OpenItem extends ItemBase {
  type: "open";
  account: string;
  kind: AccountKind;
  currencies: string[];
  flags?: "no_overdraft"[];
}

export interface PostingInput {
  account: string;
  currency: string;
  side: Side;
  amount: string;
}

export interface EntryItem extends ItemBase {
  type: "entry";
  id: string;
  at: string;
  kind: string;
  meta?: Meta;
  postings: PostingInput[];
}

export interface CloseItem extends ItemBase {
  type: "close";
  account: string;
}

export interface AssetItem extends ItemBase {
  type: "asset";
  code: string;
  exponent: number;
}

interface EventBase extends ItemBase {
  id: string;
  /** Business time, RFC 3339 with an offset. */
  at: string;
  marketplace: string;
  meta?: Meta;
}

export interface SaleItem extends EventBase {
  type: "sale";
  seller: string;
  amount: string;
  currency: string;
  category: string;
  affiliate?: string;
}
export interface DeliveredItem extends EventBase {
  type: "delivered";
  sale: string;
}
export interface RefundItem extends EventBase {
  type: "refund";
  sale: string;
  amount: string;
}
export interface ChargebackItem extends EventBase {
  type: "chargeback";
  sale: string;
  amount: string;
  fee?: string;
}
export interface EarningItem extends EventBase {
  type: "earning";
  payee: string;
  basis: string;
  currency: string;
  rule: string;
}
export interface PassThroughItem extends EventBase {
  type: "pass_through";
  payer: string;
  vendor: string;
  amount: string;
  currency: string;
}
export interface PayeeHoldItem extends EventBase {
  type: "payee_hold";
  payee: string;
  on: boolean;
  reason: string;
}
export interface PayeeDetailsItem extends EventBase {
  type: "payee_details";
  payee: string;
  name: string;
  account: string;
  bic?: string;
}
export interface PayoutResultItem extends EventBase {
  type: "payout_result";
  payout: string;
  status: "paid" | "failed";
  reason?: string;
}

/** A payee's own reserve and kept balance (finance only; docs/settlement.md, "Reserves"). */
export interface PayeeTermsItem extends EventBase {
  type: "payee_terms";
  payee: string;
  reserve?: { rate: string; days: number }; // absent: the marketplace's reserve
  minimum_balance?: Record<string, string>; // currency code -> amount kept on available
}

export type EventItem =
  | SaleItem
  | DeliveredItem
  | RefundItem
  | ChargebackItem
  | EarningItem
  | PassThroughItem
  | PayeeHoldItem
  | PayeeDetailsItem
  | PayoutResultItem
  | PayeeTermsItem;

export type Item = OpenItem | EntryItem | CloseItem | AssetItem | EventItem;

/** What one posted item came to. results[i] is items[i]'s; `index` says so explicitly. */
export interface ItemResult {
  /** The item's index in the list passed to post() or postAll(). */
  index: number;
  /** The entry or event id; the account for open/close; the code for asset. */
  id: string;
  /** ok; duplicate (the same id and content was posted before: nothing changed); error. */
  status: "ok" | "duplicate" | "error";
  /** "ok" unless status is "error". */
  code: ErrorCode | "ok";
  /** Empty unless an error: names the field. */
  message: string;
  /** The commit sequence of the item's entry (the original's for a duplicate); absent when the
   * item posted no entry (open, close, asset, delivered, ...). */
  seq?: number;
  /** The commit time of that entry. */
  committed?: string;
  /** What a marketplace event computed (a sale's commission, affiliate, fee and seller net), as
   * decimal strings; absent when there is nothing. */
  detail?: Record<string, string>;
}

// --- reads --------------------------------------------------------------------------------------

export interface Currency {
  code: string;
  exponent: number;
}

export interface Balance {
  currency: string;
  balance: string;
}

export interface Money {
  currency: string;
  amount: string;
}

export interface BalanceResult {
  account: string;
  kind: AccountKind;
  noOverdraft: boolean;
  closed: boolean;
  /** The time the answer reflects: asOf when given, else the last commit's time. */
  asOf: string;
  /** Normal-side balances, currency code order; empty when notYetOpened. */
  balances: Balance[];
  /** When the account was opened (its open's commit time); null when not known. */
  opened: string | null;
  /** asOf is before the account was opened: it did not exist then (never a "0.00"). */
  notYetOpened: boolean;
}

export interface BalanceRow {
  account: string;
  currency: string;
  balance: string;
}

export interface BalancesResult {
  prefix: string;
  asOf: string;
  /** Name order, then currency order. */
  accounts: BalanceRow[];
  /** Per currency, code order: the sum of the balances listed. */
  totals: Balance[];
}

export interface StatementQuery {
  /** Inclusive; RFC 3339 or a date. */
  from?: string;
  /** Exclusive. */
  to?: string;
  /** Filter on business time (`at`) instead of commit time. */
  businessTime?: boolean;
  /** 1..10000; default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  after?: string;
}

export interface StatementLine {
  seq: number;
  id: string;
  kind: string;
  at: string;
  committed: string;
  currency: string;
  side: Side;
  amount: string;
  /** The running balance after this line, on the account's normal side. */
  balance: string;
}

export interface StatementResult {
  account: string;
  kind: AccountKind;
  lines: StatementLine[];
  /** Pass as `after` for the next page; null when there is no more. */
  next: string | null;
}

export interface Posting {
  account: string;
  currency: string;
  side: Side;
  amount: string;
}

export interface EntryView {
  id: string;
  seq: number;
  at: string;
  committed: string;
  kind: string;
  meta: Meta;
  postings: Posting[];
  /** Hash-chain links, hex. */
  prevHash: string;
  hash: string;
}

export interface TrialBalanceRow {
  currency: string;
  debits: string;
  credits: string;
  balanced: boolean;
}

export interface TrialBalance {
  asOf: string;
  currencies: TrialBalanceRow[];
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  postings: number;
  /** The first discrepancy; empty when ok. */
  problem: string;
  /** The hash-chain head, hex. */
  head: string;
}

export interface ExportResult {
  /** The whole journal (unless onChunk was given: then empty). */
  text: string;
  entries: number;
  postings: number;
  lastSeq: number;
}

export interface ProgressUpdate {
  done: number;
  total: number;
  stage: string;
}

// --- finance ------------------------------------------------------------------------------------

export interface ClosePeriodResult {
  through: string;
  /** Entries dated before this are refused from now on. */
  end: string;
}

export interface ReleasedLine {
  payee: string;
  currency: string;
  amount: string;
}

export interface PayoutLine {
  payout: string;
  payee: string;
  currency: string;
  amount: string;
  /** The payout tax (the marketplace's payoutTax, e.g. the GMF) booked with it; "0.00" if none. */
  tax: string;
  /** The minimum balance left on the payee's available; "0.00" if none. */
  kept: string;
}

export interface CarriedLine {
  payee: string;
  currency: string;
  balance: string;
  reason: CarryReason;
}

export interface RunTotal {
  currency: string;
  released: string;
  paid: string;
  carried: string;
  payeesPaid: number;
  payeesCarried: number;
  /** Kept back of the releases into reserves. */
  reserved: string;
  /** Reserves that came due, released back to available. */
  reserveReleased: string;
  /** Payout tax booked with the payouts. */
  tax: string;
  /** Minimum balances left on available by the payouts. */
  kept: string;
}

export interface RunRows {
  released: ReleasedLine[];
  payouts: PayoutLine[];
  carried: CarriedLine[];
  /** Per payee and currency: the reserve kept back of this run's release. */
  reserved: ReleasedLine[];
  /** Per payee and currency: the reserves released back to available. */
  reserveReleased: ReleasedLine[];
}

export interface Run extends RunRows {
  run: string;
  marketplace: string;
  payDate: string;
  cutoff: string;
  dryRun: boolean;
  /** The run had been done before: returned as it was, nothing posted. */
  existing: boolean;
  state: RunState;
  chunks: number;
  payees: number;
  /** Paid per currency. */
  paidTotals: Money[];
  totals: RunTotal[];
}

export interface RunSummary {
  run: string;
  marketplace: string;
  payDate: string;
  cutoff: string;
  /** The last chunk's commit time once complete; null while in progress. */
  committed: string | null;
  payeesPaid: number;
  payeesCarried: number;
  paidTotals: Money[];
  state: RunState;
  chunks: number;
  payees: number;
}

export interface PayoutFile {
  /** The file's text (CSV or pain.001 XML). */
  file: string;
  /** Its length in bytes, as the server announced and as received (checked equal). */
  bytes: number;
}

// --- the marketplace layer's reads (Auditor.marketplace, payee, accounts, runs) ------------------

export interface PayDate {
  /** YYYY-MM-DD: the business day the run pays on. */
  date: string;
  /** YYYY-MM-DD: the scheduled date it stands for. */
  scheduled: string;
  /** The run's cut-off, RFC 3339 UTC. */
  cutoff: string;
}

/** A marketplace's config as the server loaded it: rates as exact text ("2.9%"). */
export interface MarketplaceInfo {
  name: string;
  /** The first is the default. */
  currencies: Currency[];
  timezone: string;
  rounding: string;
  /** category -> rate */
  commission: Record<string, string>;
  affiliateRate: string | null;
  feeRate: string;
  feeFixed: Money[];
  feePayer: string;
  holdDays: number;
  holdFrom: string;
  schedule: { form: string; everyDays?: number; anchor?: string; weekdays?: string[]; monthDays?: number[] };
  minimumPayout: Money[];
  holidays: string[];
  payoutAccount: { name: string; iban: string; bic: string };
  earning: { name: string; rate: string; minimum: Money[] }[];
  reserve: { rate: string; days: number } | null;
  minimumBalance: Money[];
  payoutTax: { rate: string; account: string; rounding: string; currency: string | null } | null;
  ach: Record<string, string> | null;
  coDispersion: Record<string, string> | null;
  /** The date the pay dates were looked for from, and the pay dates. */
  from: string;
  payDates: PayDate[];
}

export interface PayeeHoldInfo {
  origin: string;
  currency: string;
  original: string;
  remaining: string;
  /** RFC 3339; null while not known (held from delivery, not delivered yet). */
  release: string | null;
  created: string;
}

export interface PayeeInfo {
  marketplace: string;
  payee: string;
  hold: { on: boolean; reason: string; since: string | null };
  details: {
    at: string;
    id: string;
    name: string;
    account: string;
    bic: string;
    ach: Record<string, string> | null;
    co: Record<string, string> | null;
  }[];
  holds: PayeeHoldInfo[];
  reserves: PayeeHoldInfo[];
  terms: { at: string; id: string; reserve: { rate: string; days: number } | null; minimumBalance: Money[] }[];
}

export interface AccountInfo {
  account: string;
  kind: AccountKind;
  noOverdraft: boolean;
  closed: boolean;
  currencies: string[];
}

export interface AccountPage {
  prefix: string;
  accounts: AccountInfo[];
  /** The next page's cursor (pass as `after`); "" at the end. */
  next: string;
}

/** A payout file made, recorded and (bank formats) sent: Finance.payoutFile. */
export interface PayoutFileInfo {
  run: string;
  /** "RUN:FORMAT" */
  id: string;
  format: string;
  /** The file's text, checked against the trailer (size and SHA-256). */
  file: string;
  sha256: string;
  bytes: number;
  payouts: number;
  sent: number;
  alreadyRecorded: boolean;
}

/** A bank report imported (Finance.importReport): counts and the lines as the server judged them. */
export interface ReportImport {
  format: string;
  messageId: string;
  dryRun: boolean;
  applied: boolean;
  lines: { location: string; line: number; reference: string; outcome: string; status: string; message: string; payouts: { payout: string; before: string; after: string; status: string }[] }[];
  matched: number;
  alreadyApplied: number;
  unmatched: number;
  contradictory: number;
  mismatched: number;
  informational: number;
  payoutsMoved: number;
}

/** The server's version and the limits it applies (ServerInfo; `tally server-info`). Counts are
 * numbers; every *Ms is milliseconds, every *BytesMax bytes, every *WordsMax 8-byte words. */
export interface ServerInfo {
  version: string;
  /** Items per post call (more: batch_too_large). */
  batchItemsMax: number;
  /** An entry's or event's id (more: bad_id). */
  idBytesMax: number;
  postingsPerEntryMax: number;
  /** An item's meta, keys and values in all. */
  metaBytesMax: number;
  /** One message (more: the connection is closed). */
  messageWordsMax: number;
  connectionsMax: number;
  /** Exports, verify, balances, settlement at once (more wait). */
  longReadsMax: number;
  /** Sink calls unacknowledged per streamed call. */
  streamCallsInFlightMax: number;
  /** Not logged in after this: closed. */
  loginTimeoutMs: number;
  /** No call in progress for this long: closed (0: never). */
  idleTimeoutMs: number;
  /** Bytes before a login succeeds (more: closed). */
  unauthenticatedBytesMax: number;
  /** Calls in progress on one connection (more: overloaded). */
  callsInFlightMax: number;
  /** Unread replies past which no further call is read. */
  replyQueuedBytesMax: number;
  /** Words of calls in flight before reading pauses. */
  callWordsInFlightMax: number;
  /** The etcd lease a failover node holds while it leads (`--lease-ttl-s`); 0: no etcd. */
  leaseTtlS: number;
}
