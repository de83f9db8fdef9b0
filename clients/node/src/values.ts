// Exact conversions between the wire's values and this package's: money as decimal strings, times
// as RFC 3339 strings. No floating point touches an amount: amounts are BigInt minor units.
//
// Every function is pure; a malformed input throws TallyError("bad_amount" | "bad_time",
// message naming `field`).
import { TallyError } from "./errors.js";

const two64 = 1n << 64n;

/** A signed 128-bit integer from its two halves (hi two's complement, lo unsigned). */
export function fromHiLo(hi: bigint, lo: bigint): bigint {
  return hi * two64 + lo;
}

/** The two halves of a signed 128-bit integer. */
export function toHiLo(v: bigint): { hi: bigint; lo: bigint } {
  const lo = BigInt.asUintN(64, v);
  const hi = (v - lo) / two64;
  return { hi, lo };
}

/** Minor units as a decimal string with `exponent` decimals: (12345n, 2) is "123.45". */
export function formatMinor(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const frac = exponent > 0 ? "." + digits.slice(digits.length - exponent) : "";
  return (negative ? "-" : "") + whole + frac;
}

const decimalPattern = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * A decimal string as minor units with `exponent` decimals: ("123.4", 2) is 12340n. More decimals
 * than the currency has, a sign other than a leading '-', exponent notation, spaces or a number
 * (not a string) are bad_amount.
 */
export function parseMinor(text: unknown, exponent: number, field: string): bigint {
  if (typeof text !== "string") {
    throw new TallyError("bad_amount", `${field}: must be a string like "12.50", not ${typeof text}`);
  }
  const m = decimalPattern.exec(text);
  if (!m) throw new TallyError("bad_amount", `${field}: "${text}" is not a decimal amount`);
  const frac = m[3] ?? "";
  if (frac.length > exponent) {
    throw new TallyError(
      "bad_amount",
      `${field}: "${text}" has ${frac.length} decimals, the currency has ${exponent}`,
    );
  }
  const minor = BigInt(m[2] + frac.padEnd(exponent, "0"));
  return m[1] === "-" ? -minor : minor;
}

const rfc3339 =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$/;

const nsPerMs = 1_000_000n;
const minYear = 1900;
const maxYear = 2200;

/**
 * RFC 3339 text with an offset ("2026-01-05T10:00:00Z", "2026-01-05T11:00:00.5+01:00") as
 * nanoseconds since the epoch. `allowDate` also takes a bare date ("2026-01-05": the start of that
 * day, UTC), as the CLI's --as-of does. Years outside 1900..2200 are bad_time, as on the server.
 */
export function parseTime(text: unknown, field: string, allowDate = false): bigint {
  if (typeof text !== "string") {
    throw new TallyError("bad_time", `${field}: must be an RFC 3339 string, not ${typeof text}`);
  }
  const m = rfc3339.exec(text);
  const dateOnly = m !== null && m[4] === undefined;
  if (!m || (dateOnly && !allowDate)) {
    throw new TallyError(
      "bad_time",
      `${field}: "${text}" is not RFC 3339 with an offset (2026-01-05T10:00:00Z)`,
    );
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = dateOnly ? [0, 0, 0] : [Number(m[4]), Number(m[5]), Number(m[6])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (
    year < minYear ||
    year > maxYear ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new TallyError("bad_time", `${field}: "${text}" is out of range`);
  }
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw new TallyError("bad_time", `${field}: bad offset in "${text}"`);
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const fraction = BigInt((m[7] ?? "").padEnd(9, "0"));
  return BigInt(ms) * nsPerMs + fraction;
}

/** Nanoseconds since the epoch as UTC RFC 3339, as tally writes it (ledger/time.cpp): no fraction
 * for whole seconds, else 3, 6 or 9 digits (milli-, micro- or nanoseconds). */
export function formatTime(ns: bigint): string {
  let ms = ns / nsPerMs;
  let subMs = ns % nsPerMs;
  if (subMs < 0n) {
    subMs += nsPerMs;
    ms -= 1n;
  }
  const d = new Date(Number(ms));
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const nanos = BigInt(d.getUTCMilliseconds()) * nsPerMs + subMs;
  let fraction = nanos.toString().padStart(9, "0");
  if (nanos === 0n) fraction = "";
  else if (nanos % nsPerMs === 0n) fraction = fraction.slice(0, 3);
  else if (nanos % 1000n === 0n) fraction = fraction.slice(0, 6);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    (fraction ? "." + fraction : "") +
    "Z"
  );
}

/** A UInt64 count or sequence number as a number; exact up to 2^53 (checked). */
export function toCount(v: bigint | number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new TallyError("internal", `count ${v} exceeds 2^53`);
  return n;
}

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
