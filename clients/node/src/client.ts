// TallyClient: every method of every role, with plain typed values in and out.
//
// Contract:
// - connect() opens a connection and logs in (failing with cannot_connect or unknown_token).
// - Every call has a timeout (options.timeoutMs, per call `timeoutMs`; 0: none), which counts the
//   reconnection too. A call whose connection drops fails at once with `disconnected`; the next
//   call opens a new connection (and logs in again). Calls are never re-sent by the client: a
//   timed-out or disconnected post may or may not have committed, and posting the same items
//   again is safe (ids make posting idempotent: what committed answers `duplicate`).
// - A read the books refuse throws TallyError with tally's code (unknown_account, bad_cursor...).
//   A method whose role the token lacks throws not_allowed without calling the server. Posted
//   items never throw for being refused: each has its ItemResult.
// - Calls may be made concurrently; they share one connection.
//
// The methods live by role: client_base.ts (the connection, timeouts, currency), poster.ts,
// auditor.ts, finance.ts; TallyClient is all of them.

import { FinanceClient } from "./finance.js";
import { defaultTimeoutMs, type ClientOptions } from "./client_base.js";

export type { ClientOptions, CallOptions, PostOptions, PostAllOptions } from "./client_base.js";

/** A client of every role; a method whose role the token lacks throws not_allowed. */
export class TallyClient extends FinanceClient {
  private constructor(options: ClientOptions) {
    super(options);
  }

  /** Connects and logs in. */
  static async connect(options: ClientOptions): Promise<TallyClient> {
    const c = new TallyClient(options);
    await c.withTimeout(c.current(), options.timeoutMs ?? defaultTimeoutMs);
    return c;
  }
}
