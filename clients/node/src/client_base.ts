// The base of TallyClient (contract in client.ts): its options, the connection and login, timeouts,
// currencies, the role check, and the helpers of the role methods (poster.ts, auditor.ts,
// finance.ts).

import * as w from "./gen/tally.js";
import { TallyError } from "./errors.js";
import { fromRpcError, openSession, type Session } from "./connection.js";
import type { FrameLimits } from "./transport.js";
import { present } from "./sinks.js";
import { type Exponents } from "./encode.js";
import type * as t from "./types.js";

export interface ClientOptions {
  /** "unix:/run/tally.sock" or "host:port". */
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

/** What every role shares: the connection (opened on first use, again after a drop), logging in,
 * timeouts, currencies, and the check that the token has a method's role. */
export abstract class ClientBase {
  protected session: Session | null = null;
  protected opening: Promise<Session> | null = null;
  protected closed = false;
  protected readonly exponents: Exponents = new Map();
  protected lastRoles: t.Role[] = [];
  protected constructor(protected readonly options: ClientOptions) {}

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

  protected async currencyOn(s: Session, code: string): Promise<t.Currency | null> {
    const cap = s.poster ?? s.auditor ?? s.finance;
    if (!cap) throw new TallyError("not_allowed", "this token has no role");
    const res = await cap
      .currency((p) => {
        p.code = code;
      })
      .promise();
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
    this.opening ??= openSession({
      address: this.options.address,
      token: this.options.token,
      connectTimeoutMs: this.options.connectTimeoutMs ?? defaultConnectTimeoutMs,
      frameLimits: this.options.frameLimits,
    })
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

  protected call<T>(options: CallOptions, fn: (s: Session) => Promise<T>): Promise<T> {
    const run = async () => {
      const s = await this.current();
      try {
        return await Promise.race([fn(s), s.lost]);
      } catch (e) {
        throw fromRpcError(e);
      }
    };
    return this.withTimeout(run(), options.timeoutMs ?? this.options.timeoutMs ?? defaultTimeoutMs);
  }

  protected withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
    if (ms <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TallyError("timeout", `no answer within ${ms} ms`)),
        ms,
      );
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
