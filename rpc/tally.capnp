@0xc5a3d8e6f1b20a47;
# tally's wire schema (SPEC section 5). Every method is documented with an example in
# docs/rpc.md.
#
# Conventions:
# - Money is one form everywhere, exactly as in JSON: a decimal string ("1234.56", "-3.5", "7")
#   and a currency code ("EUR"), never floating point. The server validates what it is sent as
#   it validates JSON input (at most the currency's exponent in fraction digits, no exponent
#   notation, no "+", no separators: else badAmount naming the field; an unknown code is
#   badCurrency). Amounts the server reports always print exactly the currency's exponent digits
#   ("12.50", "1000" for JPY), so the number of fraction digits is the exponent.
# - Times a client sends (an entry's or event's `at`, `asOf`, a statement's `from` and `to`) are
#   RFC 3339 text with an offset, exactly as in JSON ("2026-01-05T10:00:00Z"). A required time that
#   is absent or empty is `badTime` naming the field, never 1970. Times the server reports in
#   results are signed nanoseconds since the Unix epoch, UTC (always set).
# - An optional value is a pointer field left null: an absent Text.
# - Errors have one shape, `Error {code, message}`: per item in a batch's results, as `error`
#   beside a null `result` for a read or a login. A call fails as a Cap'n Proto exception only
#   when it could not be carried out (a lost connection, a message over the server's limits, a
#   store failure: "unavailable: ..." is OVERLOADED, retry).
# - Capabilities: login returns `roles`, the list of roles the token grants: trust it. A role
#   the token lacks still gets a capability (never a null one), which answers every call with
#   `notAllowed`.
# - docs/clients.md is the contract for integrators (limits, batches, retries, every code).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("tally::wire");

# --- values -----------------------------------------------------------------------------------

# No field uses Amount128 any more (money is decimal text); kept for code that names it.
struct Amount128 {
  hi @0 :Int64;   # high 64 bits, two's complement
  lo @1 :UInt64;  # low 64 bits
}

struct Currency {
  code @0 :Text;       # [A-Z][A-Z0-9]{2,11}
  exponent @1 :UInt8;  # minor-unit exponent, 0..18 (USD 2, JPY 0): what one unit of Amount128 is
}

# An amount of money: a currency code and a decimal string, as in JSON.
struct CurrencyAmount {
  currency @0 :Text;  # "EUR"
  amount @1 :Text;    # "12.50"
}

# No method takes an Instant any more (times in are RFC 3339 text); kept for code that names it.
struct Instant {
  ns @0 :Int64;  # nanoseconds since 1970-01-01T00:00:00Z
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

enum AccountKind {
  asset @0;
  liability @1;
  equity @2;
  revenue @3;
  expense @4;
}

enum Side {
  debit @0;
  credit @1;
}

enum Role {
  poster @0;
  auditor @1;
  finance @2;
  replica @3;  # a standby following this server's replication log (Replica)
}

# Mirrors tally::Code (ledger/status.h) value for value, in the same order: never reorder, add
# new codes at the end in both places. A code a client does not know is to be read as `internal`.
enum ErrorCode {
  ok @0;
  badRequest @1;
  badAmount @2;
  badCurrency @3;
  badRate @4;
  overflow @5;
  unbalanced @6;
  unknownAccount @7;
  currencyNotAllowed @8;
  accountClosed @9;
  overdraft @10;
  tooManyPostings @11;
  idConflict @12;
  badId @13;
  badAccountName @14;
  badTime @15;
  badMeta @16;
  accountExists @17;
  periodClosed @18;
  linkedFailed @19;
  batchTooLarge @20;
  unknownMarketplace @21;
  unknownSale @22;
  refundExceedsSale @23;
  feesExceedAmount @24;
  affiliateExceedsCommission @25;
  unknownRule @26;
  unknownPayee @27;
  notAllowed @28;
  storeFull @29;
  internal @30;
  unknownEntry @31;
  unknownRun @32;
  badDate @33;
  notAPayDate @34;
  unknownPayout @35;
  payoutAlreadySettled @36;
  runInProgress @37;
  interrupted @38;
  linkedChainOpen @39;
  unknownToken @40;
  notLeader @41;  # a standby: writes go to the leader (a client with several addresses retries there)
}

# A business rejection: a stable code and a message naming the field.
struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
}

# --- posted items -----------------------------------------------------------------------------

struct Posting {
  account @0 :Text;
  currency @1 :Text;  # a code the ledger knows (built in or declared in an earlier call)
  side @2 :Side;
  amount @3 :Text;    # decimal, > 0, at most the currency's exponent in fraction digits
}

struct Entry {
  id @0 :Text;      # 1..128 bytes of printable ASCII
  at @1 :Text;      # business time, RFC 3339 with offset; required (absent: badTime)
  kind @2 :Text;
  meta @3 :List(KeyValue);
  postings @4 :List(Posting);  # 2..1024
}

struct OpenAccount {
  account @0 :Text;
  kind @1 :AccountKind;
  currencies @2 :List(Text);  # codes the ledger knows
  noOverdraft @3 :Bool;
}

struct CloseAccount {
  account @0 :Text;
}

struct DeclareAsset {
  code @0 :Text;
  exponent @1 :UInt8;
}

# Marketplace events (SPEC section 3). Amounts are decimal text exactly as given.
struct Sale {
  seller @0 :Text;
  amount @1 :Text;
  currency @2 :Text;
  category @3 :Text;
  affiliate @4 :Text;  # null: no affiliate
}

struct Delivered {
  sale @0 :Text;
}

struct Refund {
  sale @0 :Text;
  amount @1 :Text;
}

struct Chargeback {
  sale @0 :Text;
  amount @1 :Text;
  fee @2 :Text;  # null: no chargeback fee
}

struct Earning {
  payee @0 :Text;
  basis @1 :Text;
  currency @2 :Text;
  rule @3 :Text;
}

struct PassThrough {
  payer @0 :Text;
  vendor @1 :Text;
  amount @2 :Text;
  currency @3 :Text;
}

struct PayeeHold {
  payee @0 :Text;
  on @1 :Bool;
  reason @2 :Text;
}

struct PayeeDetails {
  payee @0 :Text;
  name @1 :Text;
  account @2 :Text;  # IBAN or another bank account id
  bic @3 :Text;      # may be empty
  ach @4 :PayeeAch;  # null: none (SPEC section 8: paid by NACHA file)
  co @5 :PayeeCo;    # null: none (paid by Colombian dispersion file)
}

# A payee's ACH details (docs/payout-rails.md): checked by the rules, not here.
struct PayeeAch {
  routing @0 :Text;       # 9 digits, ABA check digit
  account @1 :Text;
  accountType @2 :Text;   # "checking" | "savings"
  receiverKind @3 :Text;  # "individual" | "company"
}

# A payee's Colombian details.
struct PayeeCo {
  bankCode @0 :Text;
  accountType @1 :Text;     # "savings" | "checking"
  accountNumber @2 :Text;
  documentType @3 :Text;    # "NIT" | "CC" | "CE" | "PA"
  documentNumber @4 :Text;
}

enum PayoutStatus {
  paid @0;
  failed @1;
  returned @2;  # sent back after it was paid (SPEC section 8)
}

struct PayoutResult {
  payout @0 :Text;
  status @1 :PayoutStatus;
  reason @2 :Text;
  reasonCode @3 :Text;  # the bank's code ("AC04", "R03"), may be empty
}

# A payee's own reserve and kept balance (SPEC section 8, "Reserves"): finance role only.
# Checked by the rules, not here (reserve.rate, reserve.days, minimumBalance[].amount, ...).
struct PayeeTerms {
  payee @0 :Text;
  reserve @1 :TermsReserve;                 # null: the marketplace's reserve
  minimumBalance @2 :List(CurrencyAmount);  # per currency; those not listed: the marketplace's
}

struct TermsReserve {
  rate @0 :Text;  # an exact rate, "0%".."100%" ("0%": no reserve for this payee)
  days @1 :Int64;  # 1..3650
}

struct Event {
  id @0 :Text;
  at @1 :Text;  # business time, RFC 3339 with offset; required (absent: badTime)
  marketplace @2 :Text;
  meta @3 :List(KeyValue);
  union {
    sale @4 :Sale;
    delivered @5 :Delivered;
    refund @6 :Refund;
    chargeback @7 :Chargeback;
    earning @8 :Earning;
    passThrough @9 :PassThrough;
    payeeHold @10 :PayeeHold;
    payeeDetails @11 :PayeeDetails;
    payoutResult @12 :PayoutResult;
    payeeTerms @13 :PayeeTerms;
  }
}

struct Item {
  linked @0 :Bool;  # this item and the next commit or fail together
  union {
    open @1 :OpenAccount;
    entry @2 :Entry;
    close @3 :CloseAccount;
    asset @4 :DeclareAsset;
    event @5 :Event;
  }
}

enum ItemStatus {
  ok @0;
  duplicate @1;  # the id exists with the same content: the original seq and commit time
  error @2;
}

# A sale's computed split (SPEC section 3), in the sale's currency.
struct SaleBreakdown {
  currency @0 :Text;
  commission @1 :Text;  # the platform's commission (the affiliate's share included)
  affiliate @2 :Text;   # the affiliate's share of the commission ("0.00" without one)
  fee @3 :Text;         # the payment fee
  seller @4 :Text;      # what the seller gets (held, then released)
}

# A refund's or chargeback's split of the refunded amount, in the sale's currency.
struct RefundBreakdown {
  currency @0 :Text;
  seller @1 :Text;
  platform @2 :Text;
  affiliate @3 :Text;
  refundedTotal @4 :Text;  # everything refunded of the sale so far, this one included
}

# An earning's computation, in its currency.
struct EarningBreakdown {
  currency @0 :Text;
  earned @1 :Text;   # the rule's rate applied to the basis
  minimum @2 :Text;  # the rule's minimum
  paid @3 :Text;     # what the payee gets: the larger of the two
}

struct ItemResult {
  status @0 :ItemStatus;
  code @1 :ErrorCode;  # ok unless status is error
  message @2 :Text;
  id @3 :Text;         # the item's id, cut to 128 bytes when it was longer (then badId)
  seq @4 :UInt64;      # commit sequence of the item's (first) entry; 0 when it posted none
  commitNs @5 :Int64;
  detail @6 :Text;     # the breakdown below as JSON text (what `tally post` prints); may be empty
  # An event's computed breakdown as fields; at most one is set, null when the item has none.
  sale @7 :SaleBreakdown;
  refund @8 :RefundBreakdown;
  earning @9 :EarningBreakdown;
}

# --- reads ------------------------------------------------------------------------------------

struct BalanceResult {
  account @0 :Text;
  kind @1 :AccountKind;
  noOverdraft @2 :Bool;
  closed @3 :Bool;
  asOf @4 :Int64;
  balances @5 :List(CurrencyAmount);  # normal side, currency code order
  # When the account was opened (its open's commit time, ns); 0: not known (an account opened
  # before tally recorded open times).
  openedNs @6 :Int64;
  # asOf is before the account was opened: it did not exist then, and `balances` is empty (never
  # a "0.00" it never had). docs/clients.md, "Balances before an account was opened".
  notYetOpened @7 :Bool;
}

struct BalanceRow {
  account @0 :Text;
  currency @1 :Text;
  balance @2 :Text;
}

struct BalancesResult {
  prefix @0 :Text;
  asOf @1 :Int64;
  accounts @2 :List(BalanceRow);    # name order, then currency order
  totals @3 :List(CurrencyAmount);  # per currency, code order
}

struct StatementQuery {
  account @0 :Text;
  from @1 :Text;  # RFC 3339, inclusive; null: from the start
  to @2 :Text;    # RFC 3339, exclusive; null: to the end
  byBusinessTime @3 :Bool;
  limit @4 :UInt32;  # 1..10000
  after @5 :Text;    # cursor from a previous page; empty for the first
}

struct StatementLine {
  seq @0 :UInt64;
  entryId @1 :Text;
  kind @2 :Text;
  at @3 :Int64;  # business time, ns
  commitNs @4 :Int64;
  currency @5 :Text;
  side @6 :Side;
  amount @7 :Text;
  balanceAfter @8 :Text;
}

struct StatementResult {
  account @0 :Text;
  kind @1 :AccountKind;
  lines @2 :List(StatementLine);
  next @3 :Text;  # cursor of the next page; empty when there is no more
}

struct EntryView {
  entry @0 :Entry;
  seq @1 :UInt64;
  commitNs @2 :Int64;
  prevHash @3 :Data;  # 32 bytes
  hash @4 :Data;      # 32 bytes
}

struct TrialBalanceRow {
  currency @0 :Text;
  debits @1 :Text;
  credits @2 :Text;
}

struct TrialBalance {
  asOf @0 :Int64;
  currencies @1 :List(TrialBalanceRow);
}

struct VerifyReport {
  ok @0 :Bool;
  entries @1 :UInt64;
  postings @2 :UInt64;
  problem @3 :Text;
  head @4 :Data;  # 32 bytes
}

enum ExportFormat {
  hledger @0;
  csv @1;
}

struct ExportSummary {
  entries @0 :UInt64;
  postings @1 :UInt64;
  lastSeq @2 :UInt64;
  # The trailer: how many bytes the server sent to the sink and their SHA-256 (32 bytes). A client
  # compares both with what its sink received; any difference means the export is not whole.
  bytes @3 :UInt64;
  sha256 @4 :Data;
}

# The server's version and the limits a client must respect (every role may ask: `server`).
struct ServerInfo {
  version @0 :Text;
  batchItemsMax @1 :UInt64;          # items per post call (more: batchTooLarge)
  idBytesMax @2 :UInt64;             # an entry's or event's id (more: badId)
  postingsPerEntryMax @3 :UInt64;
  metaBytesMax @4 :UInt64;           # an item's meta, keys and values in all
  messageWordsMax @5 :UInt64;        # one message, in 8-byte words (more: connection closed)
  connectionsMax @6 :UInt64;
  longReadsMax @7 :UInt64;           # exports, verify, balances, settlement at once (more wait)
  streamCallsInFlightMax @8 :UInt64; # sink calls unacknowledged per streamed call
  # The limits `tally serve` was given (or its defaults; docs/operations.md, "Hostile peers").
  loginTimeoutMs @9 :UInt64;           # not logged in after this: closed
  idleTimeoutMs @10 :UInt64;           # no call in progress for this long: closed (0: never)
  unauthenticatedBytesMax @11 :UInt64; # bytes before a login succeeds (more: closed)
  callsInFlightMax @12 :UInt64;        # calls in progress on one connection (more: overloaded)
  replyQueuedBytesMax @13 :UInt64;     # unread replies past which no further call is read
  callWordsInFlightMax @14 :UInt64;    # words of calls in flight before reading pauses
  leaseTtlS @15 :UInt64;               # etcd lease of a failover node (--lease-ttl-s; 0: no etcd)
}

# --- finance ----------------------------------------------------------------------------------

struct ClosePeriodResult {
  through @0 :Text;  # YYYY-MM-DD, inclusive
  endExclusive @1 :Int64;
  result @2 :ItemResult;
}

struct ReleasedLine {
  payee @0 :Text;
  amount @1 :CurrencyAmount;
}

struct PayoutLine {
  payout @0 :Text;
  payee @1 :Text;
  amount @2 :CurrencyAmount;
  # The payout tax (the marketplace's payout_tax, e.g. the GMF) the platform booked with the
  # payout, and the minimum balance left on the payee's available. Null (from a server before
  # these fields): zero.
  tax @3 :CurrencyAmount;
  kept @4 :CurrencyAmount;
}

enum CarryReason {
  belowMinimum @0;
  negative @1;
  onHold @2;
  noDetails @3;  # the payee has no bank details to pay to
  accountClosed @4;  # a payee account is closed: nothing released or paid
}

struct CarriedLine {
  payee @0 :Text;
  balance @1 :CurrencyAmount;
  reason @2 :CarryReason;
}

enum RunState {
  inProgress @0;  # committed in part: the next settle of the run (or a restart) completes it
  complete @1;
}

struct RunTotal {
  currency @0 :Text;
  released @1 :Text;
  paid @2 :Text;
  carried @3 :Text;
  payeesPaid @4 :UInt64;
  payeesCarried @5 :UInt64;
  # Decimal text in `currency`; empty (from a server before these fields): zero.
  reserved @6 :Text;         # kept back of the releases into reserves
  reserveReleased @7 :Text;  # reserves released back to available
  tax @8 :Text;              # payout tax booked with the payouts
  kept @9 :Text;             # minimum balances left on available by the payouts
}

# A run's header. Its rows (released, payouts, carried) go to the RunRows sink the caller passes
# to `settle`, chunk by chunk in payee order; the lists here stay empty (a run of 10^6 payees
# does not fit one message).
struct Run {
  run @0 :Text;
  marketplace @1 :Text;
  payDate @2 :Text;  # YYYY-MM-DD
  cutoff @3 :Int64;
  dryRun @4 :Bool;
  existing @5 :Bool;  # the run existed already: returned as it was, nothing posted
  released @6 :List(ReleasedLine);
  payouts @7 :List(PayoutLine);
  carried @8 :List(CarriedLine);
  paidTotals @9 :List(CurrencyAmount);
  state @10 :RunState;
  chunks @11 :UInt64;   # chunks committed (a dry run: chunks a run would commit)
  payees @12 :UInt64;   # payees the run went through
  totals @13 :List(RunTotal);
  rows @14 :UInt64;     # rows sent to the sink (released + payouts + carried)
  # Per payee and currency: the reserve kept back of the release, and the reserves released back
  # to available. Sent to the sink with the other rows (not counted in `rows`); empty here.
  reserved @15 :List(ReleasedLine);
  reserveReleased @16 :List(ReleasedLine);
}

struct RunSummary {
  run @0 :Text;
  payDate @1 :Text;
  cutoff @2 :Int64;
  committedNs @3 :Int64;  # the last chunk's commit time, once complete (0 while in progress)
  payeesPaid @4 :UInt64;
  payeesCarried @5 :UInt64;
  paidTotals @6 :List(CurrencyAmount);
  state @7 :RunState;
  chunks @8 :UInt64;
  payees @9 :UInt64;
  marketplace @10 :Text;
}

enum PayoutFormat {
  csv @0;
  pain001 @1;
  nacha @2;
  coDispersion @3;
}

# --- the payout lifecycle (SPEC section 8; service/payout_ops.h) ---------------------------------
# States, statuses and report names are the settlement layer's words as text ("instructed",
# "sent", "paid", "failed", "returned"; "matched", "already_applied", ...): docs/cli.md lists them.

# A payout file made and recorded. The file itself went to the call's sink: `bytes` and `sha256`
# are its trailer (the client checks both).
struct PayoutFileInfo {
  run @0 :Text;
  file @1 :Text;            # "RUN:FORMAT"
  format @2 :PayoutFormat;
  sha256 @3 :Text;          # of the bytes, 64 lowercase hex digits
  bytes @4 :UInt64;
  payouts @5 :UInt64;       # payouts the file carries
  sent @6 :UInt64;          # moved from instructed to sent by this call
  alreadyRecorded @7 :Bool; # the same file was exported before: nothing changed
  recorded @8 :Instant;
}

struct PayoutStatusLine {
  payout @0 :Text;
  run @1 :Text;
  payee @2 :Text;
  amount @3 :CurrencyAmount;
  tax @4 :CurrencyAmount;   # the payout tax (GMF) booked with it
  state @5 :Text;
  file @6 :Text;            # the bank file it was sent in; empty: none
  sent @7 :Instant;         # null unless sent in a file
  trace @8 :Text;           # NACHA trace number; empty: none
  resultEntry @9 :Text;
  returnEntry @10 :Text;
  reasonCode @11 :Text;
  reason @12 :Text;
}

struct RunPayouts {
  run @0 :Text;
  payouts @1 :List(PayoutStatusLine);
}

struct PayoutQuery {
  marketplace @0 :Text;
  state @1 :Text;   # empty: every state
  after @2 :Text;   # cursor: a payout id; empty: from the first
  limit @3 :UInt64; # 1..10000; 0: 1000
}

struct PayoutPage {
  marketplace @0 :Text;
  payouts @1 :List(PayoutStatusLine);
  next @2 :Text;    # the next page's cursor; empty at the end
}

struct ReportPayoutLine {
  payout @0 :Text;
  before @1 :Text;
  after @2 :Text;
  status @3 :Text;
  entry @4 :Text;
  message @5 :Text;
}

struct ReportLine {
  location @0 :Text;
  line @1 :UInt64;
  referenceKind @2 :Text;
  reference @3 :Text;
  outcome @4 :Text;
  reason @5 :Text;
  status @6 :Text;
  message @7 :Text;
  payouts @8 :List(ReportPayoutLine);
}

struct ReportImport {
  format @0 :Text;
  messageId @1 :Text;
  dryRun @2 :Bool;
  applied @3 :Bool;
  lines @4 :List(ReportLine);
  ignored @5 :List(Text);
  matched @6 :UInt64;
  alreadyApplied @7 :UInt64;
  unmatched @8 :UInt64;
  contradictory @9 :UInt64;
  mismatched @10 :UInt64;
  informational @11 :UInt64;
  payoutsMoved @12 :UInt64;
}

# --- the marketplace layer's reads (Auditor @12..; service/market_reads.h) -----------------------
# Rates are exact decimal text as tally prints them ("2.9%"), dates "YYYY-MM-DD", money decimal
# text and a currency code, times the server reports Int64 ns.

struct NamedRate {
  name @0 :Text;  # a category
  rate @1 :Text;  # "10%"
}

struct EarningRuleInfo {
  name @0 :Text;
  rate @1 :Text;
  minimum @2 :List(CurrencyAmount);  # every marketplace currency ("0.00" where not given)
}

# The schedule's one form: `form` names it; only that form's fields are set.
struct ScheduleInfo {
  form @0 :Text;              # "every_days" | "weekly" | "monthly_days"
  everyDays @1 :UInt32;       # every_days
  anchor @2 :Text;            # every_days: YYYY-MM-DD
  weekdays @3 :List(Text);    # weekly: "monday".."sunday"
  monthDays @4 :List(UInt32); # monthly_days: 1..31 (31 is "last": every month's last day)
}

struct ReserveInfo {
  rate @0 :Text;
  days @1 :UInt32;
}

struct PayoutTaxInfo {
  rate @0 :Text;
  account @1 :Text;   # the full ledger account
  rounding @2 :Text;
  currency @3 :Text;  # the one currency taxed; empty: every currency
}

struct AchOriginatorInfo {
  companyName @0 :Text;
  companyId @1 :Text;
  odfiRouting @2 :Text;
  immediateDestination @3 :Text;
  immediateDestinationName @4 :Text;
  immediateOrigin @5 :Text;
  immediateOriginName @6 :Text;
  entryDescription @7 :Text;
}

struct CoDispersionInfo {
  companyNit @0 :Text;  # with its check digit: "900123456-8"
  companyName @1 :Text;
  bankCode @2 :Text;
  accountType @3 :Text; # "savings" | "checking"
  account @4 :Text;
}

struct PayDateInfo {
  date @0 :Text;       # YYYY-MM-DD: the business day the run pays on
  scheduled @1 :Text;  # YYYY-MM-DD: the scheduled date it stands for
  cutoff @2 :Int64;    # the run's cut-off, ns
}

# A marketplace's config as the server loaded it, and its next pay dates.
struct MarketplaceInfo {
  name @0 :Text;
  currencies @1 :List(Currency);  # the first is the default
  timezone @2 :Text;
  rounding @3 :Text;
  commission @4 :List(NamedRate);  # category order
  affiliateRate @5 :Text;          # null: sales may not name an affiliate
  feeRate @6 :Text;
  feeFixed @7 :List(CurrencyAmount);
  feePayer @8 :Text;               # "payee" | "platform"
  holdDays @9 :UInt32;
  holdFrom @10 :Text;              # "sale" | "delivery"
  schedule @11 :ScheduleInfo;
  minimumPayout @12 :List(CurrencyAmount);
  holidays @13 :List(Text);        # YYYY-MM-DD ascending
  payoutAccountName @14 :Text;
  payoutAccountIban @15 :Text;
  payoutAccountBic @16 :Text;
  earning @17 :List(EarningRuleInfo);
  reserve @18 :ReserveInfo;        # null: no reserve
  minimumBalance @19 :List(CurrencyAmount);
  payoutTax @20 :PayoutTaxInfo;    # null: no tax on payouts
  ach @21 :AchOriginatorInfo;      # null: none
  coDispersion @22 :CoDispersionInfo;  # null: none
  from @23 :Text;                  # the date the pay dates were looked for from (inclusive)
  payDates @24 :List(PayDateInfo);
}

struct PayeeDetailsInfo {
  at @0 :Int64;  # the event's business time
  eventId @1 :Text;
  name @2 :Text;
  account @3 :Text;
  bic @4 :Text;
  ach @5 :PayeeAch;  # null: none
  co @6 :PayeeCo;    # null: none
}

# A hold (or a reserve) of one origin, pending until its release.
struct PayeeHoldInfo {
  origin @0 :Text;
  currency @1 :Text;
  original @2 :Text;
  remaining @3 :Text;
  releaseKnown @4 :Bool;  # false: not known yet (held from delivery, the sale not delivered)
  release @5 :Int64;      # ns; 0 when not known
  created @6 :Int64;      # business time of the origin (a reserve: the run's cut-off)
}

struct PayeeTermsInfo {
  at @0 :Int64;
  eventId @1 :Text;
  reserve @2 :ReserveInfo;                 # null: the marketplace's reserve
  minimumBalance @3 :List(CurrencyAmount); # the currencies it sets
}

struct PayeeInfo {
  marketplace @0 :Text;
  payee @1 :Text;
  onHold @2 :Bool;
  holdReason @3 :Text;
  holdSince @4 :Int64;    # when the hold state last changed; 0 with holdKnown false
  holdKnown @5 :Bool;     # false: never named by a payee_hold (nor held by a failed payout)
  details @6 :List(PayeeDetailsInfo);  # history by business time; the last is current
  holds @7 :List(PayeeHoldInfo);
  reserves @8 :List(PayeeHoldInfo);
  terms @9 :List(PayeeTermsInfo);      # history by business time; the last is current
}

struct AccountInfo {
  account @0 :Text;
  kind @1 :AccountKind;
  noOverdraft @2 :Bool;
  closed @3 :Bool;
  currencies @4 :List(Currency);  # code order
}

struct AccountPage {
  prefix @0 :Text;
  accounts @1 :List(AccountInfo);  # name order
  next @2 :Text;                   # the next page's cursor; empty at the end
}

struct RunList {
  marketplace @0 :Text;           # null: every marketplace
  runs @1 :List(RunSummary);      # marketplace, then pay date order
}

# --- callbacks the client passes ----------------------------------------------------------------

# Receives long text (an export, a payout file) in order. An ordinary method, not `-> stream`
# (outside implementations such as capnp-es do not compile streaming methods): flow control is the
# server's, which keeps at most a few writes unacknowledged (rpc/server.cpp) and answers the call
# that streams only once every write has returned. Each write returns once its chunk is taken.
interface TextSink {
  write @0 (chunk :Data) -> ();
}

# Receives progress of long work (done of total; total 0 when unknown). `stage` says what is being
# counted when the work has stages ("planning chunk 3/20", "committing chunk 3/20"), else empty.
# An ordinary method, with the server's flow control as for TextSink.
interface Progress {
  update @0 (done :UInt64, total :UInt64, stage :Text) -> ();
}

# Receives a settlement run's rows, a chunk at a time, in payee order. The server sends the next
# call only once the previous one has returned: a slow receiver slows its own call only.
interface RunRows {
  rows @0 (released :List(ReleasedLine), payouts :List(PayoutLine), carried :List(CarriedLine),
           reserved :List(ReleasedLine), reserveReleased :List(ReleasedLine));
}

# Receives committed entries in commit order (Auditor.follow): seq, commit time, prevHash and hash
# of each, consecutive seqs across calls. An ordinary method, not `-> stream` (as TextSink): the
# server sends the next call only once the previous one has returned, so a slow receiver slows its
# own follow only.
interface EntrySink {
  entries @0 (entries :List(EntryView)) -> ();
}

# --- capabilities -------------------------------------------------------------------------------

# The bootstrap capability. login exchanges a token (from the server's config) for the
# capabilities its roles grant, and `roles`, the list of the roles granted: the thing to trust.
# A role the token lacks gets a capability that answers every call with `notAllowed`. An unknown
# token answers with `error` (code `unknownToken`), no roles and no capabilities.
interface Tally {
  login @0 (token :Text) -> (poster :Poster, auditor :Auditor, finance :Finance,
                             roles :List(Role), error :Error, replica :Replica);
}

# --- replication (docs/operations.md "Standbys") ------------------------------------------------

# One write transaction's changes, as the leader's replication log holds them (ledger/replication.h:
# a 64-byte header, then each put and delete). `txn` counts the store's write transactions.
struct ChangeSet {
  txn @0 :UInt64;
  row @1 :Data;
}

# A standby's receiver of the leader's change sets, in order, consecutive txns across calls. It
# returns once it holds them durably, with the last txn it holds: that return is its
# acknowledgement (a leader with --sync-standbys answers its writers only after it). An ordinary
# method, one call at a time, so a slow standby slows only its own stream (and, when it is the
# synchronous one, the leader's acknowledgements).
interface ChangeSink {
  apply @0 (sets :List(ChangeSet)) -> (durableTxn :UInt64);
}

# Role replica: a standby's login.
interface Replica {
  # The change sets from transaction `fromTxn`, then each new one as it commits, until the call is
  # cancelled, the sink fails or the server stops. error: notAllowed; badRequest when the log no
  # longer (or never) held `fromTxn` (seed the standby from a newer backup), or the standby is
  # ahead of this server.
  follow @0 (fromTxn :UInt64, sink :ChangeSink) -> (error :Error, lastTxn :UInt64);
  server @1 () -> (error :Error, result :ServerInfo);  # as Poster.server
}

# Role poster: open and close accounts, declare assets, post entries and every event but
# payee_details and payout_result. results[i] is items[i]'s.
interface Poster {
  post @0 (items :List(Item)) -> (results :List(ItemResult));
  # The ledger's currency with this code (a built-in or a declared asset), null when unknown: a
  # client parses entry amounts with its exponent. error: only notAllowed.
  currency @1 (code :Text) -> (currency :Currency, error :Error);
  # The server's version and limits (a client sizes its batches from batchItemsMax).
  server @2 () -> (error :Error, result :ServerInfo);
}

# Role auditor: read only.
interface Auditor {
  # asOf: RFC 3339 (null: now). currency null: every currency of the account.
  balance @0 (account :Text, currency :Text, asOf :Text)
      -> (error :Error, result :BalanceResult);
  # An account opened after asOf is left out (no "0.00" row): docs/clients.md, "Balances before
  # an account was opened".
  balances @1 (prefix :Text, asOf :Text) -> (error :Error, result :BalancesResult);
  statement @2 (query :StatementQuery) -> (error :Error, result :StatementResult);
  entry @3 (id :Text) -> (error :Error, result :EntryView);
  trialBalance @4 (asOf :Text) -> (error :Error, result :TrialBalance);
  verify @5 (progress :Progress) -> (error :Error, result :VerifyReport);  # progress may be null
  exportJournal @6 (format :ExportFormat, sink :TextSink) -> (error :Error, result :ExportSummary);
  currency @7 (code :Text) -> (currency :Currency, error :Error);  # as Poster.currency
  # The change stream: the journal's entries from seq `fromSeq` (1: the first) in commit order to
  # `sink`, then each new commit as it happens. Returns once `maxEntries` were sent (0: never;
  # the caller cancels or disconnects), with `lastSeq` the last one sent. A server shutting down
  # fails the call (DISCONNECTED): resume with fromSeq = the last seq received + 1.
  follow @8 (fromSeq :UInt64, maxEntries :UInt64, sink :EntrySink)
      -> (error :Error, lastSeq :UInt64);
  # A run's payouts with their lifecycle states; a marketplace's payouts by state across runs.
  runPayouts @9 (run :Text) -> (error :Error, result :RunPayouts);
  payoutsByState @10 (query :PayoutQuery) -> (error :Error, result :PayoutPage);
  server @11 () -> (error :Error, result :ServerInfo);  # as Poster.server
  # A marketplace's config as loaded and its next pay dates: `next` of them (0: 5; at most 366)
  # from `from` (YYYY-MM-DD, inclusive; null: today in the marketplace's zone).
  marketplace @12 (name :Text, from :Text, next :UInt32) -> (error :Error, result :MarketplaceInfo);
  # A payee's details history, holds, reserves, hold state and terms.
  payee @13 (marketplace :Text, payee :Text) -> (error :Error, result :PayeeInfo);
  # Accounts equal to or under `prefix` (empty: all), in name order, after the cursor `after`
  # (empty: from the first), at most `limit` (0: 1000; at most 10000).
  accounts @14 (prefix :Text, after :Text, limit :UInt32) -> (error :Error, result :AccountPage);
  # Runs with their state: of `marketplace`, or of every marketplace when it is null.
  runs @15 (marketplace :Text) -> (error :Error, result :RunList);
}

# Role finance: post payee_details, payout_result and payee_hold events; close periods;
# settlement.
interface Finance {
  post @0 (items :List(Item)) -> (results :List(ItemResult));
  closePeriod @1 (date :Text) -> (error :Error, result :ClosePeriodResult);
  # Runs, previews, resumes or replays a run. progress and rows may be null.
  settle @2 (marketplace :Text, payDate :Text, dryRun :Bool, progress :Progress, rows :RunRows)
      -> (error :Error, result :Run);
  runs @3 (marketplace :Text) -> (error :Error, runs :List(RunSummary));
  # The file streams to the sink; bytes and sha256 (32 bytes) are the trailer of what was sent,
  # to compare with what the sink received, as for exportJournal.
  payouts @4 (run :Text, format :PayoutFormat, sink :TextSink)
      -> (error :Error, bytes :UInt64, sha256 :Data);
  # The event's business time `at` (RFC 3339) is required with an id (a retry is then the same
  # event: duplicate), else badTime naming `at`. id empty: the server makes one from `at`, or
  # from its clock when `at` is null too.
  hold @5 (marketplace :Text, payee :Text, on :Bool, reason :Text, id :Text, at :Text)
      -> (error :Error, result :ItemResult);
  currency @6 (code :Text) -> (currency :Currency, error :Error);  # as Poster.currency
  # Makes, records and (bank formats) sends a run's payout file; the file streams to `sink`.
  payoutFile @7 (run :Text, format :PayoutFormat, sink :TextSink)
      -> (error :Error, result :PayoutFileInfo);
  # A bank report in (pain.002, camt.054, NACHA returns): matched and applied, all or nothing.
  importReport @8 (report :Data, dryRun :Bool) -> (error :Error, result :ReportImport);
  server @9 () -> (error :Error, result :ServerInfo);  # as Poster.server
  # An online backup: a compacted copy of the server's store (LMDB's copy of its live environment,
  # one consistent view while posting goes on) streamed to the sink as the file data.mdb. bytes
  # and sha256 (32 bytes) are the trailer of what was sent, as for exportJournal. The receiver
  # reads the journal head from the copy itself (docs/operations.md "Backup and restore").
  # A standby serves it too (a copy of its own store, as of its own head), so backups need not
  # load the leader; every other Finance call on a standby answers notLeader.
  # error: busy (no reader slot), internal (the copy failed).
  backup @10 (sink :TextSink) -> (error :Error, bytes :UInt64, sha256 :Data);
}
