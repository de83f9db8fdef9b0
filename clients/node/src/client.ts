// TallyClient: every method of every role, with plain typed values in and out.
//
// Contract:
// - connect() opens a connection and logs in (failing with cannot_connect or unknown_token).
// - Every call has a timeout (options.timeoutMs, per call `timeoutMs`; 0: none), which counts the
//   reconnection too. A call whose connection drops fails at once with `disconnected`; the next
//   call opens a new connection (and logs in again). After a disconnect or a timeout calls are
//   never re-sent by the client: a timed-out or disconnected post may or may not have committed,
//   and posting the same items again is safe (ids make posting idempotent: what committed
//   answers `duplicate`).
// - Several addresses ("a,b,c": a leader and its standbys): opening a connection tries them in
//   order, starting from the last one that worked, and moves on from one that cannot be
//   connected to (cannot_connect once none can). A standby answers writes `not_leader` and
//   applies nothing, so a call it answers so (a post whose results are all not_leader, or a call
//   that throws not_leader) is the one exception to "never re-sent": the client drops that
//   connection and makes the same call (the same items) at the next address, at most once per
//   address, then returns (or throws) what the last one answered. Calls still running on the
//   dropped connection finish there. With postAll's window, batches re-sent after a failover go
//   in the order their not_leader answers came back (the order sent).
// - A read the books refuse throws TallyError with tally's code (unknown_account, bad_cursor...).
//   A method whose role the token lacks throws not_allowed without calling the server. Posted
//   items never throw for being refused: each has its ItemResult.
// - Calls may be made concurrently; they share one connection.
//
// The methods live by role: client_base.ts (the connection, the address list, timeouts,
// currency, serverInfo), poster.ts,
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
