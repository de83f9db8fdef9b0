// The finance role's methods of TallyClient (contract in client.ts): close period, settlement runs,
// payout files, holds, bank reports.

import * as w from "./gen/tally.js";
import { PayoutFormatNames } from "./gen/names.js";
import { TallyError } from "./errors.js";
import * as d from "./decode.js";
import { progressSink, rowsSink, textSink } from "./sinks.js";
import type * as t from "./types.js";
import { formatTime, toHex } from "./values.js";
import { type CallOptions, throwIf, checkTrailer } from "./client_base.js";
import { AuditorClient } from "./auditor.js";

/** Finance: closing periods, settlement runs and their payout files, payee holds, bank reports. */
export abstract class FinanceClient extends AuditorClient {
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
      const collected: t.RunRows = { released: [], payouts: [], carried: [], reserved: [], reserveReleased: [] };
      const onRows =
        options.onRows ??
        ((r: t.RunRows) => {
          collected.released.push(...r.released);
          collected.payouts.push(...r.payouts);
          collected.carried.push(...r.carried);
          collected.reserved.push(...r.reserved);
          collected.reserveReleased.push(...r.reserveReleased);
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
}
