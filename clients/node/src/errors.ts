// The one error type every method of this package throws.
//
// `code` is a tally error code (ledger/status.h, in its snake_case spelling: "unknown_account",
// "bad_amount", ...) or one of the client's own:
//   cannot_connect  no server at the address, or the connection could not be made in time
//   disconnected    the connection was lost while the call was in flight (it may or may not have
//                   been carried out: posting again is safe, ids make posting idempotent)
//   timeout         no answer within the call's timeout (same caveat as disconnected)
//   unknown_token   the server knows no such token
//   not_allowed     the token lacks the role the method needs
//   server_error    the server failed the call as a call (a Cap'n Proto exception)
//   closed          the client was closed
//   bad_request     also used for an item or argument this client cannot encode (before sending)
import type { ErrorCodeNames } from "./gen/names.js";
import type { ItemResult } from "./types.js";

/** A tally error code, or one of the client's own. */
export type ErrorCode =
  | (typeof ErrorCodeNames)[number]
  | "cannot_connect"
  | "disconnected"
  | "timeout"
  | "unknown_token"
  | "server_error"
  | "closed";

export class TallyError extends Error {
  override readonly name = "TallyError";
  /** Stable code to branch on. */
  readonly code: ErrorCode;
  /** For an error about one item of a list: its index in the list the caller passed. */
  readonly index?: number;
  /** postAll: the results of the items before `index`, received before the failure. */
  readonly results?: ItemResult[];

  constructor(
    code: ErrorCode,
    message: string,
    options?: { index?: number; cause?: unknown; results?: ItemResult[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.index !== undefined) this.index = options.index;
    if (options?.results !== undefined) this.results = options.results;
  }
}

/** True for the errors after which the same call may simply be made again. */
export function isRetryable(err: unknown): boolean {
  return (
    err instanceof TallyError &&
    (err.code === "disconnected" || err.code === "timeout" || err.code === "cannot_connect")
  );
}
