// The objects the client hands the server to call back (a TextSink for exports and payout files,
// Progress, RunRows), and reading optional results. Each sink is used by one call; the server's
// calls arrive in order on the event loop.
import { createHash } from "node:crypto";
import * as w from "./gen/tally.js";
import * as d from "./decode.js";
import type * as t from "./types.js";

// Whether a result's pointer field is set. The server answers a null result with an empty struct;
// capnp-es 0.0.16 throws reading a pointer past a struct's pointer section instead of reading it
// as null (Cap'n Proto's rule for smaller structs), so such a throw means "absent".
export function present(has: () => boolean): boolean {
  try {
    return has();
  } catch {
    return false;
  }
}

// A TextSink the server writes chunks to: collected, or handed to onChunk; its byte count and
// SHA-256 are what the call's trailer is compared with.
export function textSink(onChunk?: (chunk: Buffer) => void) {
  const chunks: Buffer[] = [];
  const sha = createHash("sha256");
  let bytes = 0;
  const server = new w.TextSink.Server({
    write: async (p: w.TextSink_Write$Params) => {
      const chunk = Buffer.from(p.chunk.toUint8Array());
      bytes += chunk.length;
      sha.update(chunk);
      if (onChunk) onChunk(chunk);
      else chunks.push(chunk);
    },
  });
  return {
    client: new w.TextSink$Client(server),
    text: () => Buffer.concat(chunks).toString("utf8"),
    bytes: () => bytes,
    // Once, after the call returned.
    sha256: () => sha.digest("hex"),
  };
}

export function progressSink(onProgress: (p: t.ProgressUpdate) => void): w.Progress$Client {
  return new w.Progress$Client(
    new w.Progress.Server({
      update: async (p: w.Progress_Update$Params) => {
        onProgress({ done: Number(p.done), total: Number(p.total), stage: p.stage });
      },
    }),
  );
}

export function rowsSink(onRows: (rows: t.RunRows) => void): w.RunRows$Client {
  return new w.RunRows$Client(
    new w.RunRows.Server({
      rows: async (p: w.RunRows_Rows$Params) => {
        onRows(d.runRows(p));
      },
    }),
  );
}
