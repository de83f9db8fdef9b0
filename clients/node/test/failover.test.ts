// Several addresses (a leader and its standbys): opening skips an address nothing listens on; a
// post a standby answers not_leader is sent again at the next address and commits once, on the
// leader. Real `tally serve` processes: a leader with --replication-log and a standby of it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TallyClient, type Item } from "../dist/index.js";
import { Server, configWithReplica, replicaToken, tokens } from "./server.js";

const configDir = mkdtempSync(join(tmpdir(), "tally-node-failover-"));
const cfg = configWithReplica(configDir);
const leader = new Server({ config: cfg, serve: ["--replication-log"] });
let standby: Server;
// An address with nothing listening: a socket path that does not exist.
const nowhere = "unix:" + join(configDir, "nobody-listens.sock");

before(async () => {
  await leader.start();
  standby = new Server({
    config: cfg,
    before: ["--token", replicaToken],
    serve: ["--standby-of", leader.address],
  });
  await standby.start();
});

after(async () => {
  await standby?.stop();
  await leader.stop();
  rmSync(configDir, { recursive: true, force: true });
});

const at = "2026-01-05T10:00:00Z";
const items: Item[] = [
  { type: "open", account: "ops:bank", kind: "asset", currencies: ["USD"] },
  { type: "open", account: "ops:wallets:w1", kind: "liability", currencies: ["USD"] },
  {
    type: "entry",
    id: "fo-1",
    at,
    kind: "deposit",
    postings: [
      { account: "ops:bank", currency: "USD", side: "debit", amount: "25.00" },
      { account: "ops:wallets:w1", currency: "USD", side: "credit", amount: "25.00" },
    ],
  },
];

test("an address list whose first address has nothing listening connects to the second", async () => {
  const c = await TallyClient.connect({ address: `${nowhere},${leader.address}`, token: tokens.auditor });
  try {
    assert.equal(c.address, leader.address);
    const info = await c.serverInfo();
    assert.ok(info.batchItemsMax > 0);
  } finally {
    c.close();
  }
});

test("a standby alone answers a post not_leader and commits nothing", async () => {
  const c = await TallyClient.connect({ address: standby.address, token: tokens.poster });
  try {
    const rs = await c.post(items.slice(2));
    assert.deepEqual(
      rs.map((r) => r.code),
      ["not_leader"],
    );
  } finally {
    c.close();
  }
});

test("a post to standby,leader is sent again to the leader and lands there once", async () => {
  const c = await TallyClient.connect({
    address: `${standby.address},${leader.address}`,
    token: tokens.poster,
  });
  try {
    assert.equal(c.address, standby.address, "the first address is the standby");
    const rs = await c.post(items);
    assert.deepEqual(
      rs.map((r) => `${r.status}:${r.code}`),
      ["ok:ok", "ok:ok", "ok:ok"],
      JSON.stringify(rs),
    );
    assert.equal(c.address, leader.address);
    const again = await c.post(items.slice(2));
    assert.equal(again[0].status, "duplicate");
    assert.equal(again[0].seq, rs[2].seq);
  } finally {
    c.close();
  }
  // On the leader, once: the entry at the seq the post answered, the balance of one deposit.
  const a = await leader.client(tokens.auditor);
  try {
    const e = await a.entry("fo-1");
    assert.equal(e.id, "fo-1");
    const b = await a.balance("ops:wallets:w1");
    assert.deepEqual(b.balances, [{ currency: "USD", balance: "25.00" }]);
  } finally {
    a.close();
  }
});

test("postAll through standby,leader: every batch lands on the leader", async () => {
  const c = await TallyClient.connect({
    address: `${standby.address},${leader.address}`,
    token: tokens.poster,
  });
  try {
    const many: Item[] = Array.from({ length: 20 }, (_, i) => ({
      type: "entry",
      id: `fo-all-${i}`,
      at,
      kind: "deposit",
      postings: [
        { account: "ops:bank", currency: "USD", side: "debit", amount: "1.00" },
        { account: "ops:wallets:w1", currency: "USD", side: "credit", amount: "1.00" },
      ],
    }));
    const rs = await c.postAll(many, { batchItems: 5, window: 3 });
    assert.deepEqual(
      rs.map((r) => r.status),
      many.map(() => "ok"),
      JSON.stringify(rs.filter((r) => r.status !== "ok")),
    );
  } finally {
    c.close();
  }
});

test("a finance call a standby refuses (not_leader) is made again at the leader", async () => {
  const c = await TallyClient.connect({
    address: `${standby.address},${leader.address}`,
    token: tokens.finance,
  });
  try {
    assert.equal(c.address, standby.address);
    // Reads stay on the standby (it answers them).
    const info = await c.serverInfo();
    assert.ok(info.batchItemsMax > 0);
    assert.equal(c.address, standby.address);
    const closed = await c.closePeriod("2020-01-01");
    assert.equal(closed.through, "2020-01-01");
    assert.equal(c.address, leader.address);
  } finally {
    c.close();
  }
});
