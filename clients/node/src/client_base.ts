// The base of TallyClient (contract in client.ts): its options, the connection and login, the
// address list and moving past a standby, timeouts, currencies, serverInfo, the role check, and
// the helpers of the role methods (poster.ts, auditor.ts, finance.ts).

import * as w from "./gen/tally.js";
import { TallyError } from "./errors.js";
import { fromRpcError, openSession, type Session } from "./connection.js";
import type { FrameLimits } from "./transport.js";
import { present } from "./sinks.js";
import { readError, serverInfo } from "./decode.js";
import { type Exponents } from "./encode.js";
import type * as t from "./types.js";

export interface ClientOptions {
  /** "unix:/run/tally.sock" or "host:port"; or several, comma-separated (a leader and its
   * standbys, "unix:/run/a.sock,unix:/run/b.sock"): see client.ts, "Several addresses". */
  address: string;
  /** A token from the server's config ([tokens]). */
  token: string;
  /** Default timeout of every call, in ms (default 30 000; 0: none). */
  timeoutMs?: number;
  /** Timeout of opening a connection, in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Items per post() call postAll() sends (default 10 000, the server's batch_items_max). */
  batchItems?: number;
  /** Incoming message limits. */
  frameLimits?: FrameLimits;
}

export interface CallOptions {
  /** This call's timeout in ms (0: none). */
  timeoutMs?: number;
}

export interface PostOptions extends CallOptions {
  /** Which role's capability posts. Default: finance when the token has it and every item is a
   * finance event (payee_details, payout_result, payee_hold); else poster when granted; else
   * finance. The server refuses an item the role may not post (not_allowed). */
  role?: "poster" | "finance";
}

export interface PostAllOptions extends PostOptions {
  /** Items per batch (default: the client's batchItems). */
  batchItems?: number;
  /** Batches in flight at once on the connection (default 4). They commit in the order sent. */
  window?: number;
}

export const defaultTimeoutMs = 30_000;
export const defaultConnectTimeoutMs = 10_000;
export const defaultBatchItems = 10_000;
export const defaultWindow = 4;

/** Splits a ClientOptions.address into its addresses (comma-separated; empty parts dropped). */
export function addressList(address: string): string[] {
  const list = address
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  return list.length > 0 ? list : [address];
}

// What the client keeps about a session: which address it is, the calls running on it, and
// whether it was dropped for a standby (closed once its last call ends).
interface Held {
  index: number;
  calls: number;
  retired: boolean;
}

/** What every role shares: the connection (opened on first use, again after a drop), logging in,
 * the address list, timeouts, currencies, and the check that the token has a method's role. */
export abstract class ClientBase {
  protected session: Session | null = null;
  protected opening: Promise<Session> | null = null;
  protected closed = false;
  protected readonly exponents: Exponents = new Map();
  protected lastRoles: t.Role[] = [];
  protected readonly addresses: string[];
  // The index in `addresses` of the last address that worked: where opening starts.
  private at = 0;
  private readonly held = new WeakMap<Session, Held>();
  protected constructor(protected readonly options: ClientOptions) {
    this.addresses = addressList(options.address);
  }

  /** The address of the live session (or, with none, the one the next opening tries first). */
  get address(): string {
    return this.session?.address ?? this.addresses[this.at];
  }

  /** The roles the token was granted (at the last login). */
  get roles(): readonly t.Role[] {
    return this.lastRoles;
  }

  /** Closes the connection; calls in flight fail with `closed`, later calls too. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = null;
  }

  /** The ledger's currency with this code (a built-in or a declared asset); null when none. */
  async currency(code: string, options: CallOptions = {}): Promise<t.Currency | null> {
    return this.call(options, (s) => this.currencyOn(s, code));
  }

  /** The server's version and limits (every ServerInfo field), through whichever role the token
   * has. */
  async serverInfo(options: CallOptions = {}): Promise<t.ServerInfo> {
    return this.call(options, async (s) => {
      // The auditor's first: a standby answers reads, and its poster and finance not_leader.
      const cap = s.auditor ?? s.poster ?? s.finance;
      if (!cap) throw new TallyError("not_allowed", "this token has no role");
      const res = await cap.server().promise();
      throwIf(readError(res));
      return serverInfo(res.result);
    });
  }

  protected async currencyOn(s: Session, code: string): Promise<t.Currency | null> {
    // The auditor's first: a standby answers reads, and its poster and finance not_leader.
    const cap = s.auditor ?? s.poster ?? s.finance;
    if (!cap) throw new TallyError("not_allowed", "this token has no role");
    const res = await cap
      .currency((p) => {
        p.code = code;
      })
      .promise();
    throwIf(readError(res));
    if (!present(() => res._hasCurrency())) return null;
    return { code: res.currency.code, exponent: res.currency.exponent };
  }

  protected need(s: Session, role: "poster"): w.Poster$Client;
  protected need(s: Session, role: "auditor"): w.Auditor$Client;
  protected need(s: Session, role: "finance"): w.Finance$Client;
  protected need(
    s: Session,
    role: "poster" | "auditor" | "finance",
  ): w.Poster$Client | w.Auditor$Client | w.Finance$Client {
    const cap = s[role];
    if (!cap) {
      throw new TallyError(
        "not_allowed",
        `not_allowed: this token has no ${role} role (it has: ${s.roles.join(", ") || "none"})`,
      );
    }
    return cap;
  }

  // The live session, or a new one (one attempt at a time, shared by concurrent callers).
  protected current(): Promise<Session> {
    if (this.closed) return Promise.reject(new TallyError("closed", "the client was closed"));
    if (this.session && !this.session.dead) return Promise.resolve(this.session);
    this.opening ??= this.openAny()
      .then((s) => {
        if (this.closed) {
          s.close();
          throw new TallyError("closed", "the client was closed");
        }
        this.session = s;
        this.lastRoles = s.roles;
        return s;
      })
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  // Each address once, in order from the last one that worked, until one logs in; one that
  // cannot be connected to is skipped (any other failure, unknown_token say, ends the attempt).
  private async openAny(): Promise<Session> {
    const n = this.addresses.length;
    const refused: string[] = [];
    let last: TallyError | null = null;
    for (let k = 0; k < n; k++) {
      const index = (this.at + k) % n;
      try {
        const s = await openSession({
          address: this.addresses[index],
          token: this.options.token,
          connectTimeoutMs: this.options.connectTimeoutMs ?? defaultConnectTimeoutMs,
          frameLimits: this.options.frameLimits,
        });
        this.at = index;
        this.held.set(s, { index, calls: 0, retired: false });
        return s;
      } catch (e) {
        if (!(e instanceof TallyError) || e.code !== "cannot_connect" || this.closed) throw e;
        last = e;
        refused.push(e.message);
      }
    }
    if (n === 1 && last) throw last;
    throw new TallyError("cannot_connect", `no address could be connected to: ${refused.join("; ")}`, {
      cause: last,
    });
  }

  // Drops a session that answered not_leader: the next opening starts at the address after it.
  // Calls still running on it finish there; it closes when the last one ends.
  private retire(s: Session): void {
    const h = this.held.get(s);
    if (!h || h.retired) return;
    h.retired = true;
    if (this.session === s) {
      this.session = null;
      this.at = (h.index + 1) % this.addresses.length;
    }
    if (h.calls === 0) s.close();
  }

  // fn on the session s, failing at once when it drops.
  private async on<T>(s: Session, fn: (s: Session) => Promise<T>): Promise<T> {
    const h = this.held.get(s);
    if (h) h.calls++;
    try {
      return await Promise.race([fn(s), s.lost]);
    } catch (e) {
      throw fromRpcError(e);
    } finally {
      if (h) {
        h.calls--;
        if (h.retired && h.calls === 0) s.close();
      }
    }
  }

  /**
   * Runs fn on the live session within the call's timeout. With several addresses, an answer
   * from a standby (fn throws not_leader, or `standby(result)` is true) drops that session and
   * runs fn again on the next address that connects, at most once per address; then the last
   * answer is returned (or thrown). A not_leader answer means nothing was done, so running fn
   * again is safe; nothing else is ever re-sent.
   */
  protected call<T>(
    options: CallOptions,
    fn: (s: Session) => Promise<T>,
    standby: (result: T) => boolean = () => false,
  ): Promise<T> {
    const state = { expired: false };
    return this.withTimeout(
      this.failover(fn, standby, state),
      options.timeoutMs ?? this.options.timeoutMs ?? defaultTimeoutMs,
      () => (state.expired = true),
    );
  }

  private async failover<T>(
    fn: (s: Session) => Promise<T>,
    standby: (result: T) => boolean,
    state: { expired: boolean },
  ): Promise<T> {
    const tried = new Set<number>();
    let last: { value: T } | { error: unknown } | null = null;
    const answer = (l: { value: T } | { error: unknown }): T => {
      if ("error" in l) throw l.error;
      return l.value;
    };
    for (;;) {
      let s: Session;
      try {
        s = await this.current();
      } catch (e) {
        // Nothing more to connect to: what the standby answered stands (nothing was done).
        if (last && e instanceof TallyError && e.code === "cannot_connect") return answer(last);
        throw e;
      }
      const index = this.held.get(s)?.index ?? -1;
      if (last && (tried.has(index) || state.expired)) return answer(last);
      tried.add(index);
      try {
        const v = await this.on(s, fn);
        if (!standby(v)) return v;
        last = { value: v };
      } catch (e) {
        if (!(e instanceof TallyError) || e.code !== "not_leader") throw e;
        last = { error: e };
      }
      if (this.addresses.length < 2) return answer(last);
      this.retire(s);
    }
  }

  protected withTimeout<T>(p: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
    if (ms <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new TallyError("timeout", `no answer within ${ms} ms`));
      }, ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

export function throwIf(e: TallyError | null): void {
  if (e) throw e;
}

// A streamed file is whole only if the sink received exactly the bytes the server's trailer
// announces, with the same SHA-256: anything else is an error, never a shorter file.
export function checkTrailer(
  what: string,
  bytes: number,
  sha256: string,
  sink: { bytes(): number; sha256(): string },
): void {
  const got = sink.bytes();
  if (got !== bytes) {
    throw new TallyError("server_error", `${what}: received ${got} of ${bytes} bytes`);
  }
  if (sink.sha256() !== sha256) {
    throw new TallyError("server_error", `${what}: the bytes received differ from those sent (SHA-256)`);
  }
}
