// TallyClient: every method of every role, with plain typed values in and out.
//
// Contract:
// - connect() opens a connection and logs in (failing with cannot_connect or unknown_token).
// - Every call has a timeout (options.timeoutMs, per call `timeoutMs`; 0: none), which counts the
//   reconnection too. A call whose connection drops fails at once with `disconnected`; the next
//   call opens a new connection (and logs in again). Calls are never re-sent by the client: a
//   timed-out or disconnected post may or may not have committed, and posting the same items
//   again is safe (ids make posting idempotent: what committed answers `duplicate`).
// - A read the books refuse throws TallyError with tally's code (unknown_account, bad_cursor...).
//   A method whose role the token lacks throws not_allowed without calling the server. Posted
//   items never throw for being refused: each has its ItemResult.
// - Calls may be made concurrently; they share one connection.
import * as w from "./gen/tally.js";
import { ExportFormatNames, PayoutFormatNames } from "./gen/names.js";
import { TallyError } from "./errors.js";
import { fromRpcError, openSession, type Session } from "./connection.js";
import type { FrameLimits } from "./transport.js";
import * as d from "./decode.js";
import { present, progressSink, rowsSink, textSink } from "./sinks.js";
import { check, currencyCodes, encode, financeTypes, itemId, type Exponents } from "./encode.js";
import { batches, chains } from "./batches.js";
import type * as t from "./types.js";
import { formatTime, parseTime, toHex } from "./values.js";

export interface ClientOptions {
  /** "unix:/run/tally.sock" or "host:port". */
  address: string;
  /** A token from the server's config ([tokens]). */
  token: string;
  /** Default timeout of every call, in ms (default 30 000; 0: none). */
  timeoutMs?: number;
  /** Timeout of opening a connection, in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Items per post() call postAll() sends (default 10 000, the server's batch_items_max). */
  batchItems?: number;
  /** Incoming message limits. */
  frameLimits?: FrameLimits;
}

export interface CallOptions {
  /** This call's timeout in ms (0: none). */
  timeoutMs?: number;
}

export interface PostOptions extends CallOptions {
  /** Which role's capability posts. Default: finance when the token has it and every item is a
   * finance event (payee_details, payout_result, payee_hold); else poster when granted; else
   * finance. The server refuses an item the role may not post (not_allowed). */
  role?: "poster" | "finance";
}

export interface PostAllOptions extends PostOptions {
  /** Items per batch (default: the client's batchItems). */
  batchItems?: number;
  /** Batches in flight at once on the connection (default 4). They commit in the order sent. */
  window?: number;
}

const defaultTimeoutMs = 30_000;
const defaultConnectTimeoutMs = 10_000;
const defaultBatchItems = 10_000;
const defaultWindow = 4;

export class TallyClient {
  private session: Session | null = null;
  private opening: Promise<Session> | null = null;
  private closed = false;
  private readonly exponents: Exponents = new Map();
  private lastRoles: t.Role[] = [];

  private constructor(private readonly options: ClientOptions) {}

  /** Connects and logs in. */
  static async connect(options: ClientOptions): Promise<TallyClient> {
    const c = new TallyClient(options);
    await c.withTimeout(c.current(), options.timeoutMs ?? defaultTimeoutMs);
    return c;
  }

  /** The roles the token was granted (at the last login). */
  get roles(): readonly t.Role[] {
    return this.lastRoles;
  }

  /** Closes the connection; calls in flight fail with `closed`, later calls too. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = null;
  }

  // --- posting ----------------------------------------------------------------------------------

  /**
   * Posts one batch (at most the server's batch_items_max items, else every item is
   * batch_too_large). results[i] is items[i]'s. An item this client cannot encode (a missing
   * field, an amount that is not a decimal string, an unknown currency) gets its own error result
   * and is not sent, nor are the other items of its linked chain (linked_failed).
   */
  async post(items: readonly t.Item[], options: PostOptions = {}): Promise<t.ItemResult[]> {
    return this.call(options, (s) => this.postOn(s, items, 0, options.role));
  }

  /**
   * Posts any number of items in batches within the server's limit, never splitting a linked
   * chain, and returns every item's result in the order given. On a dropped connection or a
   * timeout it throws that error with `index` = the first item whose result is unknown and
   * `results` = the results received before it (post the rest again: ids make that safe).
   */
  async postAll(items: readonly t.Item[], options: PostAllOptions = {}): Promise<t.ItemResult[]> {
    const ranges = batches(items, options.batchItems ?? this.options.batchItems ?? defaultBatchItems);
    const window = Math.max(1, options.window ?? defaultWindow);
    const results: t.ItemResult[][] = new Array(ranges.length);
    let next = 0;
    const failed: { batch: number; error: unknown }[] = [];
    const worker = async () => {
      while (failed.length === 0 && next < ranges.length) {
        const b = next++;
        const [start, end] = ranges[b];
        try {
          results[b] = await this.call(options, (s) =>
            this.postOn(s, items.slice(start, end), start, options.role),
          );
        } catch (error) {
          failed.push({ batch: b, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, ranges.length) }, worker));
    if (failed.length > 0) {
      // The earliest batch that failed: every item before it has its result.
      const { batch, error } = failed.reduce((a, b) => (b.batch < a.batch ? b : a));
      const e = error instanceof TallyError ? error : fromRpcError(error);
      const done = results.slice(0, batch).flat();
      throw new TallyError(e.code, `items[${ranges[batch][0]}] on: ${e.message}`, {
        index: ranges[batch][0],
        cause: e,
        results: done,
      });
    }
    return results.flat();
  }

  private async postOn(
    s: Session,
    items: readonly t.Item[],
    offset: number,
    role?: "poster" | "finance",
  ): Promise<t.ItemResult[]> {
    const cap = this.postCap(s, items, role);
    await this.resolveExponents(s, items);
    const exponents = new Map(this.exponents);
    const out: (t.ItemResult | null)[] = items.map(() => null);
    // Client-side refusals, then their chains.
    items.forEach((item, i) => {
      try {
        check(item, exponents);
      } catch (e) {
        const err = e instanceof TallyError ? e : new TallyError("bad_request", String(e));
        out[i] = { index: offset + i, id: itemId(item), status: "error", code: err.code, message: err.message };
      }
    });
    for (const [start, end] of chains(items)) {
      const failed = out.slice(start, end).findIndex((r) => r !== null);
      if (failed < 0) continue;
      for (let i = start; i < end; i++) {
        out[i] ??= {
          index: offset + i,
          id: itemId(items[i]),
          status: "error",
          code: "linked_failed",
          message: `linked_failed: item ${offset + start + failed} of its linked chain failed`,
        };
      }
    }
    const send = items.map((_, i) => i).filter((i) => out[i] === null);
    if (send.length > 0) {
      const res = await cap
        .post((p) => {
          const list = p._initItems(send.length);
          send.forEach((i, k) => encode(items[i], list.get(k), exponents));
        })
        .promise();
      const got = res.results;
      if (got.length !== send.length) {
        throw new TallyError("server_error", `${got.length} results for ${send.length} items`);
      }
      send.forEach((i, k) => {
        out[i] = d.itemResult(got.get(k), offset + i);
      });
    }
    return out as t.ItemResult[];
  }

  private postCap(
    s: Session,
    items: readonly t.Item[],
    role?: "poster" | "finance",
  ): w.Poster$Client | w.Finance$Client {
    let use = role;
    if (use === undefined) {
      const financeOnly = items.length > 0 && items.every((i) => financeTypes.has(i?.type));
      use = s.finance && (financeOnly || !s.poster) ? "finance" : "poster";
    }
    return use === "finance" ? this.need(s, "finance") : this.need(s, "poster");
  }

  private async resolveExponents(s: Session, items: readonly t.Item[]): Promise<void> {
    const declared = new Set(items.filter((i) => i?.type === "asset").map((i) => (i as t.AssetItem).code));
    const missing = [...currencyCodes(items)].filter((c) => !this.exponents.has(c) && !declared.has(c));
    await Promise.all(
      missing.map(async (code) => {
        const c = await this.currencyOn(s, code);
        if (c) this.exponents.set(c.code, c.exponent);
      }),
    );
  }

  /** The ledger's currency with this code (a built-in or a declared asset); null when none. */
  async currency(code: string, options: CallOptions = {}): Promise<t.Currency | null> {
    return this.call(options, (s) => this.currencyOn(s, code));
  }

  private async currencyOn(s: Session, code: string): Promise<t.Currency | null> {
    const cap = s.poster ?? s.auditor ?? s.finance;
    if (!cap) throw new TallyError("not_allowed", "this token has no role");
    const res = await cap
      .currency((p) => {
        p.code = code;
      })
      .promise();
    if (!present(() => res._hasCurrency())) return null;
    return { code: res.currency.code, exponent: res.currency.exponent };
  }

  // --- auditor ----------------------------------------------------------------------------------

  /** The account's normal-side balances (or in `currency` alone), now or as of a commit time. */
  async balance(
    account: string,
    options: CallOptions & { currency?: string; asOf?: string } = {},
  ): Promise<t.BalanceResult> {
    const asOf = options.asOf === undefined ? undefined : parseTime(options.asOf, "asOf", true);
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .balance((p) => {
          p.account = account;
          if (options.currency !== undefined) p.currency = options.currency;
          if (asOf !== undefined) p.asOf = formatTime(asOf);
        })
        .promise();
      throwIf(d.readError(res));
      return d.balanceResult(res.result);
    });
  }

  /** Every account equal to or under `prefix` ("" for all) and the totals per currency. */
  async balances(prefix: string, options: CallOptions & { asOf?: string } = {}): Promise<t.BalancesResult> {
    const asOf = options.asOf === undefined ? undefined : parseTime(options.asOf, "asOf", true);
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .balances((p) => {
          p.prefix = prefix;
          if (asOf !== undefined) p.asOf = formatTime(asOf);
        })
        .promise();
      throwIf(d.readError(res));
      return d.balancesResult(res.result);
    });
  }

  /** A page of the account's postings with running balances; pass `next` as `after`. */
  async statement(account: string, query: t.StatementQuery & CallOptions = {}): Promise<t.StatementResult> {
    const from = query.from === undefined ? undefined : parseTime(query.from, "from", true);
    const to = query.to === undefined ? undefined : parseTime(query.to, "to", true);
    return this.call(query, async (s) => {
      const res = await this.need(s, "auditor")
        .statement((p) => {
          const q = p._initQuery();
          q.account = account;
          if (from !== undefined) q.from = formatTime(from);
          if (to !== undefined) q.to = formatTime(to);
          q.byBusinessTime = query.businessTime === true;
          q.limit = query.limit ?? 100;
          q.after = query.after ?? "";
        })
        .promise();
      throwIf(d.readError(res));
      return d.statementResult(res.result);
    });
  }

  /** One entry with its postings, commit sequence and time and hash-chain links. */
  async entry(id: string, options: CallOptions = {}): Promise<t.EntryView> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .entry((p) => {
          p.id = id;
        })
        .promise();
      throwIf(d.readError(res));
      return d.entryView(res.result);
    });
  }

  /** Per currency, the sums of debit and of credit balances. */
  async trialBalance(options: CallOptions & { asOf?: string } = {}): Promise<t.TrialBalance> {
    const asOf = options.asOf === undefined ? undefined : parseTime(options.asOf, "asOf", true);
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .trialBalance((p) => {
          if (asOf !== undefined) p.asOf = formatTime(asOf);
        })
        .promise();
      throwIf(d.readError(res));
      return d.trialBalance(res.result);
    });
  }

  /** Recomputes the hash chain and every balance; a discrepancy is `ok: false`, not an error. */
  async verify(
    options: CallOptions & { onProgress?: (p: t.ProgressUpdate) => void } = {},
  ): Promise<t.VerifyReport> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .verify((p) => {
          if (options.onProgress) p.progress = progressSink(options.onProgress);
        })
        .promise();
      throwIf(d.readError(res));
      return d.verifyReport(res.result);
    });
  }

  /** The whole journal as hledger or CSV text (or chunk by chunk to `onChunk`). */
  async exportJournal(
    format: "hledger" | "csv",
    options: CallOptions & { onChunk?: (chunk: Buffer) => void } = {},
  ): Promise<t.ExportResult> {
    const f = ExportFormatNames.indexOf(format);
    if (f < 0) throw new TallyError("bad_request", `format: "${format}" is neither hledger nor csv`);
    return this.call(options, async (s) => {
      const sink = textSink(options.onChunk);
      const res = await this.need(s, "auditor")
        .exportJournal((p) => {
          p.format = f as w.ExportFormat;
          p.sink = sink.client;
        })
        .promise();
      throwIf(d.readError(res));
      const r = res.result;
      checkTrailer("the export", Number(r.bytes), toHex(r.sha256.toUint8Array()), sink);
      return {
        text: sink.text(),
        entries: Number(r.entries),
        postings: Number(r.postings),
        lastSeq: Number(r.lastSeq),
      };
    });
  }

  // --- finance ----------------------------------------------------------------------------------

  /** Closes the books through `date` (YYYY-MM-DD, inclusive, UTC). */
  async closePeriod(date: string, options: CallOptions = {}): Promise<t.ClosePeriodResult> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "finance")
        .closePeriod((p) => {
          p.date = date;
        })
        .promise();
      throwIf(d.readError(res));
      const r = res.result;
      const item = d.itemResult(r.result, 0);
      if (item.status === "error") {
        throw new TallyError(item.code === "ok" ? "internal" : item.code, item.message);
      }
      return { through: r.through, end: formatTime(r.endExclusive) };
    });
  }

  /**
   * Runs (or with dryRun previews) the settlement of a pay date. Idempotent per (marketplace, pay
   * date): again, it returns the stored run with existing = true. Rows arrive chunk by chunk: to
   * `onRows` when given (the returned run's lists then stay empty), else collected into the run.
   */
  async settle(
    marketplace: string,
    payDate: string,
    options: CallOptions & {
      dryRun?: boolean;
      onProgress?: (p: t.ProgressUpdate) => void;
      onRows?: (rows: t.RunRows) => void;
    } = {},
  ): Promise<t.Run> {
    return this.call(options, async (s) => {
      const collected: t.RunRows = { released: [], payouts: [], carried: [] };
      const onRows =
        options.onRows ??
        ((r: t.RunRows) => {
          collected.released.push(...r.released);
          collected.payouts.push(...r.payouts);
          collected.carried.push(...r.carried);
        });
      const res = await this.need(s, "finance")
        .settle((p) => {
          p.marketplace = marketplace;
          p.payDate = payDate;
          p.dryRun = options.dryRun === true;
          if (options.onProgress) p.progress = progressSink(options.onProgress);
          p.rows = rowsSink(onRows);
        })
        .promise();
      throwIf(d.readError(res));
      return d.run(res.result, collected);
    });
  }

  /** A marketplace's runs. */
  async runs(marketplace: string, options: CallOptions = {}): Promise<t.RunSummary[]> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "finance")
        .runs((p) => {
          p.marketplace = marketplace;
        })
        .promise();
      throwIf(d.readError(res));
      const out: t.RunSummary[] = [];
      for (let i = 0; i < res.runs.length; i++) out.push(d.runSummary(res.runs.get(i)));
      return out;
    });
  }

  /** A stored run's payout file; a file shorter than the server announced is an error. */
  async payouts(run: string, format: "csv" | "pain001", options: CallOptions = {}): Promise<t.PayoutFile> {
    const f = PayoutFormatNames.indexOf(format);
    if (f < 0) throw new TallyError("bad_request", `format: "${format}" is neither csv nor pain001`);
    return this.call(options, async (s) => {
      const sink = textSink();
      const res = await this.need(s, "finance")
        .payouts((p) => {
          p.run = run;
          p.format = f as w.PayoutFormat;
          p.sink = sink.client;
        })
        .promise();
      throwIf(d.readError(res));
      // The trailer: what the server sent, to compare with what arrived.
      const announced = Number(res.bytes);
      checkTrailer(`payout file of ${run}`, announced, toHex(res.sha256.toUint8Array()), sink);
      return { file: sink.text(), bytes: announced };
    });
  }

  /** Puts a payee on hold or releases it (a payee_hold event). Give `id` and `at` (RFC 3339, the
   * event's business time) to make a retry idempotent: the same id and at again is `duplicate`.
   * `id` without `at` is `bad_time`; without either the server makes both (its clock). */
  async hold(
    marketplace: string,
    payee: string,
    options: CallOptions & { on: boolean; reason: string; id?: string; at?: string },
  ): Promise<t.ItemResult> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "finance")
        .hold((p) => {
          p.marketplace = marketplace;
          p.payee = payee;
          p.on = options.on;
          p.reason = options.reason;
          p.id = options.id ?? "";
          if (options.at !== undefined) p.at = options.at;
        })
        .promise();
      throwIf(d.readError(res));
      return d.itemResult(res.result, 0);
    });
  }

  /** A run's payout file made, recorded and (bank formats: pain001, nacha, co_dispersion) sent,
   * with its record (Finance.payoutFile). The bytes are checked against the trailer. */
  async payoutFile(
    run: string,
    format: (typeof PayoutFormatNames)[number],
    options: CallOptions = {},
  ): Promise<t.PayoutFileInfo> {
    const f = PayoutFormatNames.indexOf(format);
    if (f < 0) throw new TallyError("bad_request", `format: "${format}" is not one of ${PayoutFormatNames.join(", ")}`);
    return this.call(options, async (s) => {
      const sink = textSink();
      const res = await this.need(s, "finance")
        .payoutFile((p) => {
          p.run = run;
          p.format = f as w.PayoutFormat;
          p.sink = sink.client;
        })
        .promise();
      throwIf(d.readError(res));
      const r = res.result;
      const announced = Number(r.bytes);
      checkTrailer(`payout file of ${run}`, announced, r.sha256, sink);
      return {
        run: r.run,
        id: r.file,
        format: PayoutFormatNames[r.format] ?? "csv",
        file: sink.text(),
        sha256: r.sha256,
        bytes: announced,
        payouts: Number(r.payouts),
        sent: Number(r.sent),
        alreadyRecorded: r.alreadyRecorded,
      };
    });
  }

  /** A bank report in (pain.002, camt.054, NACHA returns), applied all or nothing
   * (Finance.importReport); `dryRun` judges it and changes nothing. */
  async importReport(report: string | Uint8Array, options: CallOptions & { dryRun?: boolean } = {}): Promise<t.ReportImport> {
    const bytes = typeof report === "string" ? Buffer.from(report, "utf8") : report;
    return this.call(options, async (s) => {
      const res = await this.need(s, "finance")
        .importReport((p) => {
          p._initReport(bytes.length).copyBuffer(bytes);
          p.dryRun = options.dryRun === true;
        })
        .promise();
      throwIf(d.readError(res));
      return d.reportImport(res.result);
    });
  }

  // --- the marketplace layer's reads (auditor) ---------------------------------------------------

  /** The marketplace's config as the server loaded it, and its next `next` pay dates (default 5,
   * at most 366) on or after `from` (YYYY-MM-DD; default: today in its zone). */
  async marketplace(name: string, options: CallOptions & { from?: string; next?: number } = {}): Promise<t.MarketplaceInfo> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .marketplace((p) => {
          p.name = name;
          if (options.from !== undefined) p.from = options.from;
          p.next = options.next ?? 0;
        })
        .promise();
      throwIf(d.readError(res));
      return d.marketplaceInfo(res.result);
    });
  }

  /** A payee's hold state, details history, holds and reserves, and terms. */
  async payee(marketplace: string, payee: string, options: CallOptions = {}): Promise<t.PayeeInfo> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .payee((p) => {
          p.marketplace = marketplace;
          p.payee = payee;
        })
        .promise();
      throwIf(d.readError(res));
      return d.payeeInfo(res.result);
    });
  }

  /** Accounts equal to or under `prefix` ("" for all), a page at a time: pass `next` as `after`. */
  async accounts(
    prefix = "",
    options: CallOptions & { after?: string; limit?: number } = {},
  ): Promise<t.AccountPage> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .accounts((p) => {
          p.prefix = prefix;
          p.after = options.after ?? "";
          p.limit = options.limit ?? 0;
        })
        .promise();
      throwIf(d.readError(res));
      return d.accountPage(res.result);
    });
  }

  /** Runs with their state, of one marketplace or (none given) of every one: the auditor's read
   * (`runs` is finance's, of one marketplace). */
  async allRuns(marketplace?: string, options: CallOptions = {}): Promise<t.RunSummary[]> {
    return this.call(options, async (s) => {
      const res = await this.need(s, "auditor")
        .runs((p) => {
          if (marketplace !== undefined) p.marketplace = marketplace;
        })
        .promise();
      throwIf(d.readError(res));
      const l = res.result.runs;
      const out: t.RunSummary[] = [];
      for (let i = 0; i < l.length; i++) out.push(d.runSummary(l.get(i)));
      return out;
    });
  }

  // --- plumbing ---------------------------------------------------------------------------------

  private need(s: Session, role: "poster"): w.Poster$Client;
  private need(s: Session, role: "auditor"): w.Auditor$Client;
  private need(s: Session, role: "finance"): w.Finance$Client;
  private need(
    s: Session,
    role: "poster" | "auditor" | "finance",
  ): w.Poster$Client | w.Auditor$Client | w.Finance$Client {
    const cap = s[role];
    if (!cap) {
      throw new TallyError(
        "not_allowed",
        `not_allowed: this token has no ${role} role (it has: ${s.roles.join(", ") || "none"})`,
      );
    }
    return cap;
  }

  // The live session, or a new one (one attempt at a time, shared by concurrent callers).
  private current(): Promise<Session> {
    if (this.closed) return Promise.reject(new TallyError("closed", "the client was closed"));
    if (this.session && !this.session.dead) return Promise.resolve(this.session);
    this.opening ??= openSession({
      address: this.options.address,
      token: this.options.token,
      connectTimeoutMs: this.options.connectTimeoutMs ?? defaultConnectTimeoutMs,
      frameLimits: this.options.frameLimits,
    })
      .then((s) => {
        if (this.closed) {
          s.close();
          throw new TallyError("closed", "the client was closed");
        }
        this.session = s;
        this.lastRoles = s.roles;
        return s;
      })
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  private call<T>(options: CallOptions, fn: (s: Session) => Promise<T>): Promise<T> {
    const run = async () => {
      const s = await this.current();
      try {
        return await Promise.race([fn(s), s.lost]);
      } catch (e) {
        throw fromRpcError(e);
      }
    };
    return this.withTimeout(run(), options.timeoutMs ?? this.options.timeoutMs ?? defaultTimeoutMs);
  }

  private withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
    if (ms <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TallyError("timeout", `no answer within ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

function throwIf(e: TallyError | null): void {
  if (e) throw e;
}

// A streamed file is whole only if the sink received exactly the bytes the server's trailer
// announces, with the same SHA-256: anything else is an error, never a shorter file.
function checkTrailer(
  what: string,
  bytes: number,
  sha256: string,
  sink: { bytes(): number; sha256(): string },
): void {
  const got = sink.bytes();
  if (got !== bytes) {
    throw new TallyError("server_error", `${what}: received ${got} of ${bytes} bytes`);
  }
  if (sink.sha256() !== sha256) {
    throw new TallyError("server_error", `${what}: the bytes received differ from those sent (SHA-256)`);
  }
}
