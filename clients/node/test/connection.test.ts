// Connections: no server, a dropped connection with a call in flight, reconnecting on the next
// call, per-call timeouts, a server restart. A proxy between client and server (ours, in this
// file) lets the test hold replies and cut the connection at a chosen point.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createConnection, createServer, type Server as NetServer, type Socket } from "node:net";
import { join } from "node:path";
import { TallyClient, TallyError } from "../dist/index.js";
import { Server, tokens } from "./server.js";

const server = new Server();

// Forwards a unix socket to the server's; `hold` stops forwarding replies (they queue), `cut`
// destroys every open connection.
class Proxy {
  readonly path = join(server.dir, "proxy.sock");
  readonly address = "unix:" + this.path;
  private readonly net: NetServer;
  private readonly open = new Set<Socket>();
  hold = false;
  private held: Array<() => void> = [];
  connections = 0;

  constructor() {
    this.net = createServer((client) => {
      this.connections++;
      const upstream = createConnection({ path: server.socket });
      this.open.add(client).add(upstream);
      client.on("data", (b) => upstream.write(b));
      upstream.on("data", (b) => (this.hold ? this.held.push(() => client.write(b)) : client.write(b)));
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      client.on("close", end).on("error", end);
      upstream.on("close", end).on("error", end);
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.net.listen(this.path, r));
  }
  release(): void {
    this.hold = false;
    for (const f of this.held.splice(0)) f();
  }
  cut(): void {
    this.held = [];
    for (const s of this.open) s.destroy();
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.net.close(() => r()));
  }
}

let proxy: Proxy;

before(async () => {
  await server.start();
  proxy = new Proxy();
  await proxy.listen();
});

after(async () => {
  await proxy.close();
  await server.stop();
});

async function expectCode(p: Promise<unknown>, code: string): Promise<TallyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TallyError, `expected a TallyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}

test("no server at the address: cannot_connect", async () => {
  const e = await expectCode(
    TallyClient.connect({ address: "unix:" + join(server.dir, "nothing.sock"), token: tokens.poster }),
    "cannot_connect",
  );
  assert.match(e.message, /nothing\.sock/);
});

test("a dropped connection fails the call in flight; the next call reconnects", async () => {
  const c = await TallyClient.connect({ address: proxy.address, token: tokens.auditor });
  assert.equal(proxy.connections, 1);
  await expectCode(c.balance("ops:nope"), "unknown_account"); // the connection works
  proxy.hold = true;
  const inFlight = c.balances("");
  // Cut once the call has reached the server (its reply is held by the proxy).
  // Bounded: the reply comes within 100 000 turns of the event loop or the test fails.
  for (let turns = 0; !(proxy as unknown as { held: unknown[] }).held.length; turns++) {
    assert.ok(turns < 100_000, "the server never answered the call");
    await new Promise((r) => setImmediate(r));
  }
  proxy.cut();
  proxy.hold = false;
  const e = await expectCode(inFlight, "disconnected");
  assert.match(e.message, /connection to unix:.*proxy\.sock lost/);
  // The next call opens a new connection and logs in again.
  const r = await c.balances("");
  assert.equal(r.prefix, "");
  assert.equal(proxy.connections, 2);
  c.close();
});

test("a call with no answer in its timeout is timeout; the connection goes on", async () => {
  const c = await TallyClient.connect({ address: proxy.address, token: tokens.auditor });
  proxy.hold = true;
  await expectCode(c.balances("", { timeoutMs: 50 }), "timeout");
  proxy.release();
  const r = await c.balances("");
  assert.equal(r.prefix, "");
  c.close();
});

test("close() fails calls in flight with closed, and later calls", async () => {
  const c = await TallyClient.connect({ address: proxy.address, token: tokens.auditor });
  proxy.hold = true;
  const inFlight = c.balances("");
  c.close();
  await expectCode(inFlight, "closed");
  await expectCode(c.balances(""), "closed");
  proxy.release();
});

test("a server restart: calls fail, then work again on the next call", async () => {
  const c = await server.client(tokens.poster);
  const open = await c.post([{ type: "open", account: "ops:restart", kind: "asset", currencies: ["EUR"] }]);
  assert.equal(open[0].status, "ok");
  await server.kill();
  // Either the call finds the connection dropped, or (once the drop is seen) no server to
  // reconnect to.
  const e = await c.currency("EUR").then(
    () => assert.fail("a call succeeded with the server down"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof TallyError && ["disconnected", "cannot_connect"].includes(e.code), String(e));
  await server.start();
  assert.deepEqual(await c.currency("EUR"), { code: "EUR", exponent: 2 });
  c.close();
});
