// @tally/client: tally's TypeScript client (docs/clients.md).
export { TallyClient } from "./client.js";
export type { ClientOptions, CallOptions, PostOptions, PostAllOptions } from "./client.js";
export { TallyError, isRetryable } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type * from "./types.js";
export { SocketTransport, defaultFrameLimits } from "./transport.js";
export type { FrameLimits } from "./transport.js";
