// The auditor role's methods of TallyClient (contract in client.ts): the ledger's reads and the
// marketplace layer's.

import * as w from "./gen/tally.js";
import { ExportFormatNames } from "./gen/names.js";
import { TallyError } from "./errors.js";
import * as d from "./decode.js";
import { progressSink, textSink } from "./sinks.js";
import type * as t from "./types.js";
import { formatTime, parseTime, toHex } from "./values.js";
import { type CallOptions, throwIf, checkTrailer } from "./client_base.js";
import { PosterClient } from "./poster.js";

/** The auditor's reads: balances, statements, entries, verify, the export, marketplaces, payees,
 * accounts, runs. */
export abstract class AuditorClient extends PosterClient {
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

  /**
   * Every account equal to or under `prefix` ("" for all) and the totals per currency. With
   * `asOf`, the books as they were then: an account opened after `asOf` is left out (never a
   * "0.00" row), so the answer is what `balances` answered at `asOf`.
   */
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
}
