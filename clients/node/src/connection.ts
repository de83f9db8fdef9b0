// One connection to a tally server, logged in: the socket, capnp-es's Conn over our transport, and
// the role capabilities the token was granted.
//
// Contract:
// - openSession() resolves once the socket is connected and login has answered; it rejects with
//   TallyError cannot_connect (no server, or not within connectTimeoutMs), unknown_token, or
//   disconnected (the connection dropped during login).
// - `lost` rejects, once, when the connection ends for any reason: TallyError disconnected (the
//   server closed it, a reset, a frame over the limits) or closed (close() was called). Every
//   call races it, so a dropped connection fails the calls in flight at once (capnp-es's Conn does
//   not fail its outstanding questions when its transport closes). `dead` is then true.
// Single-threaded (Node's event loop).
import { createConnection, type Socket } from "node:net";
import { Conn } from "capnp-es";
import * as w from "./gen/tally.js";
import { RoleNames } from "./gen/names.js";
import { readError } from "./decode.js";
import { TallyError } from "./errors.js";
import { SocketTransport, type FrameLimits, defaultFrameLimits } from "./transport.js";
import type { Role } from "./types.js";

export interface SessionOptions {
  /** "unix:/path/to.sock", "host:port" or "[v6addr]:port". */
  address: string;
  token: string;
  connectTimeoutMs: number;
  frameLimits?: FrameLimits;
}

export interface Session {
  /** The address this session is connected to. */
  readonly address: string;
  readonly roles: Role[];
  readonly poster: w.Poster$Client | null;
  readonly auditor: w.Auditor$Client | null;
  readonly finance: w.Finance$Client | null;
  readonly lost: Promise<never>;
  readonly dead: boolean;
  close(): void;
}

type Endpoint = { path: string } | { host: string; port: number };

/** Parses an address as the CLI's --connect takes it. */
export function parseAddress(address: string): Endpoint {
  if (address.startsWith("unix:")) {
    const path = address.slice("unix:".length);
    if (path === "") throw new TallyError("bad_request", `address: "${address}" has no path`);
    return { path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new TallyError(
      "bad_request",
      `address: "${address}" is neither unix:/path nor host:port`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

function connectSocket(address: string, timeoutMs: number): Promise<Socket> {
  const endpoint = parseAddress(address);
  return new Promise((resolve, reject) => {
    const socket = createConnection(endpoint);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TallyError("cannot_connect", `cannot connect to ${address}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      if ("port" in endpoint) socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TallyError("cannot_connect", `cannot connect to ${address}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

/** A Cap'n Proto exception (a call that failed as a call) as a TallyError. */
export function fromRpcError(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/unknown token/i.test(message)) return new TallyError("unknown_token", "unknown token");
  if (/shutting down|disconnected/i.test(message)) {
    return new TallyError("disconnected", `the server dropped the call: ${message}`, { cause: err });
  }
  return new TallyError("server_error", message, { cause: err });
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const socket = await connectSocket(opts.address, opts.connectTimeoutMs);
  let rejectLost!: (e: TallyError) => void;
  const lost = new Promise<never>((_, reject) => (rejectLost = reject));
  lost.catch(() => {}); // observed by the calls that race it; never an unhandled rejection
  const state = { dead: false };
  const transport = new SocketTransport(
    socket,
    (err) => {
      state.dead = true;
      rejectLost(
        err === null
          ? new TallyError("closed", "the client was closed")
          : new TallyError("disconnected", `connection to ${opts.address} lost: ${err.message}`, { cause: err }),
      );
    },
    opts.frameLimits ?? defaultFrameLimits,
  );
  const conn = new Conn(transport as unknown as ConstructorParameters<typeof Conn>[0]);
  // A protocol error stops Conn's read loop: the connection is then useless, so close it.
  conn.onError = (e?: Error) => {
    socket.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  const tally = conn.bootstrap(w.Tally);
  let res: w.Tally_Login$Results;
  try {
    res = await Promise.race([
      tally.login((p) => {
        p.token = opts.token;
      }).promise(),
      lost,
    ]);
  } catch (e) {
    transport.close();
    throw fromRpcError(e);
  }
  // An unknown token is the result's error (unknownToken), with nothing granted.
  const refused = readError(res);
  if (refused !== null) {
    transport.close();
    throw refused;
  }
  const roles: Role[] = [];
  const granted = res.roles;
  for (let i = 0; i < granted.length; i++) {
    const r = RoleNames[granted.get(i)];
    if (r !== undefined && !roles.includes(r)) roles.push(r);
  }
  // The roles list is what to trust: a capability is used only when its role was granted.
  return {
    address: opts.address,
    roles,
    poster: roles.includes("poster") ? res.poster : null,
    auditor: roles.includes("auditor") ? res.auditor : null,
    finance: roles.includes("finance") ? res.finance : null,
    lost,
    get dead() {
      return state.dead;
    },
    close: () => transport.close(),
  };
}
