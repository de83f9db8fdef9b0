// The poster role's methods of TallyClient (contract in client.ts): post and postAll.

import * as w from "./gen/tally.js";
import { TallyError } from "./errors.js";
import { fromRpcError, type Session } from "./connection.js";
import * as d from "./decode.js";
import { check, currencyCodes, encode, financeTypes, itemId } from "./encode.js";
import { batches, chains } from "./batches.js";
import type * as t from "./types.js";
import { ClientBase, type PostOptions, type PostAllOptions, defaultBatchItems, defaultWindow } from "./client_base.js";

/** A standby's answer to a post: every item an error, at least one not_leader (the others are
 * the client's own refusals, never sent). Nothing of it was applied. */
function fromStandby(results: t.ItemResult[]): boolean {
  return results.some((r) => r.code === "not_leader") && results.every((r) => r.status === "error");
}

/** Posting: one batch, or any number of items in batches within the server's limit. */
export abstract class PosterClient extends ClientBase {
  /**
   * Posts one batch (at most the server's batch_items_max items, else every item is
   * batch_too_large). results[i] is items[i]'s. An item this client cannot encode (a missing
   * field, an amount that is not a decimal string, an unknown currency) gets its own error result
   * and is not sent, nor are the other items of its linked chain (linked_failed).
   */
  async post(items: readonly t.Item[], options: PostOptions = {}): Promise<t.ItemResult[]> {
    return this.call(options, (s) => this.postOn(s, items, 0, options.role), fromStandby);
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
          results[b] = await this.call(
            options,
            (s) => this.postOn(s, items.slice(start, end), start, options.role),
            fromStandby,
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
    try {
      await this.resolveExponents(s, items);
    } catch (e) {
      // A standby (a poster-only token asks the poster's capability): every item would be
      // refused the same way, unsent.
      if (!(e instanceof TallyError) || e.code !== "not_leader") throw e;
      return items.map((item, i) => ({
        index: offset + i,
        id: itemId(item),
        status: "error",
        code: "not_leader",
        message: e.message,
      }));
    }
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
}
