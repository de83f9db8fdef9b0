// serverInfo(): every ServerInfo field, typed, through whichever role the token has, against a
// server started with limits of its own (--idle-timeout-ms, --login-timeout-ms), compared with
// `tally server-info --json` against the same server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Server, tokens } from "./server.js";

const server = new Server({ serve: ["--idle-timeout-ms", "12345", "--login-timeout-ms", "4321"] });

before(async () => {
  await server.start();
});

after(async () => {
  await server.stop();
});

test("serverInfo answers every field on every role, with the server's own limits", async () => {
  const cli = await server.cli(tokens.auditor, ["server-info"]);
  assert.equal(cli.code, 0, cli.stderr);
  const limits = cli.lines[0].limits as Record<string, number>;
  const fields = [
    "batchItemsMax",
    "idBytesMax",
    "postingsPerEntryMax",
    "metaBytesMax",
    "messageWordsMax",
    "connectionsMax",
    "longReadsMax",
    "streamCallsInFlightMax",
    "loginTimeoutMs",
    "idleTimeoutMs",
    "unauthenticatedBytesMax",
    "callsInFlightMax",
    "replyQueuedBytesMax",
    "callWordsInFlightMax",
    "leaseTtlS",
  ] as const;
  // poster alone, auditor alone, finance with auditor
  for (const token of [tokens.poster, tokens.auditor, tokens.finance]) {
    const c = await server.client(token);
    try {
      const info = await c.serverInfo();
      assert.deepEqual(Object.keys(info).sort(), ["version", ...fields].sort());
      assert.equal(info.version, cli.lines[0].version);
      assert.equal(info.idleTimeoutMs, 12345);
      assert.equal(info.loginTimeoutMs, 4321);
      for (const f of fields) {
        assert.equal(typeof info[f], "number", f);
        const snake = f.replace(/[A-Z]/g, (ch) => "_" + ch.toLowerCase());
        assert.ok(snake in limits, `tally server-info has no ${snake}`);
        assert.equal(info[f], limits[snake], f);
      }
      assert.ok(info.batchItemsMax > 0 && info.callsInFlightMax > 0);
    } finally {
      c.close();
    }
  }
});
