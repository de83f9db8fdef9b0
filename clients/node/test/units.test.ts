// Pure parts, no server: amounts, times, addresses, linked chains and batches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TallyError } from "../dist/index.js";
import { formatMinor, parseMinor, fromHiLo, toHiLo, parseTime, formatTime } from "../dist/values.js";
import { batches, chains } from "../dist/batches.js";
import { parseAddress } from "../dist/connection.js";

function throwsCode(f: () => unknown, code: string, field?: string) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TallyError, String(e));
    assert.equal(e.code, code);
    if (field) assert.match(e.message, new RegExp("^" + field.replace(/[[\].]/g, "\\$&") + ":"));
    return true;
  });
}

test("decimal strings to minor units and back, exactly", () => {
  assert.equal(parseMinor("120.00", 2, "amount"), 12000n);
  assert.equal(parseMinor("0.5", 2, "amount"), 50n);
  assert.equal(parseMinor("-0.25", 2, "amount"), -25n);
  assert.equal(parseMinor("1500", 0, "amount"), 1500n);
  // Past 2^53 and past 2^64: no float anywhere.
  assert.equal(parseMinor("123456789012345678901234567.89", 2, "a"), 12345678901234567890123456789n);
  assert.equal(formatMinor(12345678901234567890123456789n, 2), "123456789012345678901234567.89");
  assert.equal(formatMinor(5n, 2), "0.05");
  assert.equal(formatMinor(-5n, 2), "-0.05");
  assert.equal(formatMinor(1500n, 0), "1500");
  assert.equal(formatMinor(0n, 18), "0.000000000000000000");
});

test("malformed amounts are bad_amount naming the field", () => {
  throwsCode(() => parseMinor(12.5, 2, "postings[0].amount"), "bad_amount", "postings[0].amount");
  throwsCode(() => parseMinor("1.234", 2, "amount"), "bad_amount", "amount");
  throwsCode(() => parseMinor("1e3", 2, "amount"), "bad_amount");
  throwsCode(() => parseMinor(" 1.00", 2, "amount"), "bad_amount");
  throwsCode(() => parseMinor("+1.00", 2, "amount"), "bad_amount");
  throwsCode(() => parseMinor("01.00", 2, "amount"), "bad_amount");
  throwsCode(() => parseMinor("1.", 2, "amount"), "bad_amount");
});

test("128-bit halves round-trip, negatives two's complement", () => {
  for (const v of [0n, 1n, -1n, (1n << 64n) + 5n, -(1n << 100n), (1n << 127n) - 1n, -(1n << 127n)]) {
    const { hi, lo } = toHiLo(v);
    assert.ok(lo >= 0n && lo < 1n << 64n);
    assert.equal(fromHiLo(hi, lo), v);
  }
  assert.deepEqual(toHiLo(-1n), { hi: -1n, lo: (1n << 64n) - 1n });
});

test("RFC 3339 to nanoseconds and back", () => {
  assert.equal(parseTime("2026-01-05T10:00:00Z", "at"), 1767607200000000000n);
  assert.equal(parseTime("2026-01-05T11:00:00+01:00", "at"), 1767607200000000000n);
  assert.equal(parseTime("2026-01-05T10:00:00.000000001Z", "at"), 1767607200000000001n);
  assert.equal(parseTime("2026-01-05", "asOf", true), 1767571200000000000n);
  assert.equal(parseTime("1969-12-31T23:59:59.5Z", "at"), -500000000n);
  assert.equal(formatTime(1767607200000000000n), "2026-01-05T10:00:00Z");
  assert.equal(formatTime(1767607201200000000n), "2026-01-05T10:00:01.200Z");
  assert.equal(formatTime(1767607201000001000n), "2026-01-05T10:00:01.000001Z");
  assert.equal(formatTime(1767607200000000001n), "2026-01-05T10:00:00.000000001Z");
  assert.equal(formatTime(-500000000n), "1969-12-31T23:59:59.500Z");
});

test("times without an offset, out of range or not strings are bad_time", () => {
  throwsCode(() => parseTime("2026-01-05", "at"), "bad_time", "at");
  throwsCode(() => parseTime("2026-01-05T10:00:00", "at"), "bad_time", "at");
  throwsCode(() => parseTime(1767607200000, "at"), "bad_time", "at");
  throwsCode(() => parseTime(undefined, "at"), "bad_time", "at");
  throwsCode(() => parseTime("2026-02-30T10:00:00Z", "at"), "bad_time");
  throwsCode(() => parseTime("2026-01-05T24:00:00Z", "at"), "bad_time");
  throwsCode(() => parseTime("1899-12-31T00:00:00Z", "at"), "bad_time");
  throwsCode(() => parseTime("2201-01-01T00:00:00Z", "at"), "bad_time");
});

test("addresses: unix paths, host:port, [v6]:port", () => {
  assert.deepEqual(parseAddress("unix:/run/tally.sock"), { path: "/run/tally.sock" });
  assert.deepEqual(parseAddress("127.0.0.1:7878"), { host: "127.0.0.1", port: 7878 });
  assert.deepEqual(parseAddress("[::1]:7878"), { host: "::1", port: 7878 });
  throwsCode(() => parseAddress("localhost"), "bad_request");
  throwsCode(() => parseAddress("unix:"), "bad_request");
  throwsCode(() => parseAddress("h:70000"), "bad_request");
});

const e = (linked = false) => ({ type: "close" as const, account: "a", linked });

test("linked chains and batches that never split them", () => {
  const items = [e(), e(true), e(true), e(), e(), e(true), e()];
  assert.deepEqual(chains(items), [[0, 1], [1, 4], [4, 5], [5, 7]]);
  assert.deepEqual(batches(items, 3), [[0, 1], [1, 4], [4, 7]]);
  assert.deepEqual(batches(items, 100), [[0, 7]]);
  assert.deepEqual(batches([], 3), []);
  // An open chain at the end is one chain.
  assert.deepEqual(chains([e(), e(true)]), [[0, 1], [1, 2]]);
  assert.throws(() => batches(items, 2), (err: unknown) => {
    assert.ok(err instanceof TallyError);
    assert.equal(err.code, "batch_too_large");
    assert.equal(err.index, 1);
    return true;
  });
});
