// Linked chains and batches, on the client side (the server's rules: ledger/batch.h).
//
// A chain is a maximal run of items in which every item but the last has `linked: true`; it
// commits or fails whole. A batch never splits a chain. Pure functions.
import { TallyError } from "./errors.js";
import type { Item } from "./types.js";

/** [start, end) of each chain, in order. An open chain at the end (last item linked) is one too. */
export function chains(items: readonly Item[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < items.length; i++) {
    if (items[i]?.linked !== true || i === items.length - 1) {
      out.push([start, i + 1]);
      start = i + 1;
    }
  }
  return out;
}

/**
 * Splits items into [start, end) batches of at most `max` items, never splitting a chain. A chain
 * longer than `max` cannot be posted at all: TallyError batch_too_large naming its first item.
 */
export function batches(items: readonly Item[], max: number): Array<[number, number]> {
  if (!Number.isInteger(max) || max < 1) {
    throw new TallyError("bad_request", `batch size: ${max} is not a positive integer`);
  }
  const out: Array<[number, number]> = [];
  let start = 0;
  let end = 0;
  for (const [s, e] of chains(items)) {
    if (e - s > max) {
      throw new TallyError(
        "batch_too_large",
        `items[${s}]: a linked chain of ${e - s} items is over the server's ${max} items a batch`,
        { index: s },
      );
    }
    if (e - start > max) {
      out.push([start, end]);
      start = s;
    }
    end = e;
  }
  if (end > start) out.push([start, end]);
  return out;
}
