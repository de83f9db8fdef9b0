// What the tests share: a real `tally serve` on a temporary data directory and unix socket, with
// the repository's fixtures/marketplaces.toml (tokens k3y-for-orders: poster, k3y-for-audit:
// auditor, k3y-for-finance: finance and auditor), and the `tally` CLI against the same server.
//
// The binary: $TALLY_BIN, else the repository's release build (build/release/cli/tally, what
// `scripts/build release tally` makes). Tests fail (not skip) without it: CI builds it first.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { TallyClient, TallyError, type ClientOptions } from "../dist/index.js";

const here = fileURLToPath(new URL(".", import.meta.url)); // dist-test/
export const repo = resolve(here, "../../..");
export const config = join(repo, "fixtures/marketplaces.toml");

export const tokens = {
  poster: "k3y-for-orders",
  auditor: "k3y-for-audit",
  finance: "k3y-for-finance", // finance and auditor
};

export function tallyBinary(): string {
  const bin = process.env.TALLY_BIN ?? join(repo, "build/release/cli/tally");
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`no tally binary at ${bin}: run scripts/build release tally (or set TALLY_BIN)`);
  }
  return bin;
}

/** How a Server is started: `tally [before...] serve ... --config CONFIG [serve...]`. */
export interface ServeOptions {
  /** The config file (default: fixtures/marketplaces.toml). */
  config?: string;
  /** Arguments before `serve` (`--token T` for a standby). */
  before?: string[];
  /** Arguments after serve's own (`--idle-timeout-ms 12345`, `--standby-of ADDR`). */
  serve?: string[];
}

/** The fixture config plus a token with role replica (what a standby logs in to its leader with),
 * written into `dir`. */
export const replicaToken = "k3y-for-replica";
export function configWithReplica(dir: string): string {
  const path = join(dir, "replica.toml");
  writeFileSync(path, readFileSync(config, "utf8") + `"${replicaToken}" = ["replica"]\n`);
  return path;
}

export class Server {
  readonly dir = mkdtempSync(join(tmpdir(), "tally-node-test-"));
  readonly data = join(this.dir, "data");
  readonly socket = join(this.dir, "tally.sock");
  readonly address = "unix:" + this.socket;
  private child: ChildProcess | null = null;
  private log = "";

  constructor(private readonly serveOptions: ServeOptions = {}) {}

  /** Starts `tally serve` and waits until a login succeeds. */
  async start(): Promise<void> {
    const bin = tallyBinary();
    const o = this.serveOptions;
    const child = spawn(
      bin,
      [
        ...(o.before ?? []),
        "serve",
        "--data",
        this.data,
        "--listen",
        this.address,
        "--config",
        o.config ?? config,
        ...(o.serve ?? []),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.child = child;
    child.stderr!.on("data", (b: Buffer) => (this.log += b.toString()));
    // Ready when a client logs in; bounded: 1000 attempts, each a refused connect or a login.
    for (let i = 0; i < 1000; i++) {
      if (child.exitCode !== null) throw new Error(`tally serve exited ${child.exitCode}: ${this.log}`);
      try {
        const c = await TallyClient.connect({ address: this.address, token: tokens.poster });
        c.close();
        return;
      } catch (e) {
        if (!(e instanceof TallyError) || e.code !== "cannot_connect") throw e;
      }
      await sleep(10);
    }
    throw new Error(`tally serve did not come up: ${this.log}`);
  }

  /** SIGKILL: as a crash. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGTERM, waits for the exit, removes the directory. */
  async stop(): Promise<void> {
    await this.signal("SIGTERM");
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(sig);
    await exited;
  }

  client(token: string, extra: Partial<ClientOptions> = {}): Promise<TallyClient> {
    return TallyClient.connect({ address: this.address, token, ...extra });
  }

  /** Runs `tally --connect ADDR --token T --json ARGS...`: exit code and stdout's JSON lines. */
  cli(token: string, args: string[]): Promise<{ code: number; lines: any[]; stdout: string; stderr: string }> {
    return new Promise((resolvePromise) => {
      execFile(
        tallyBinary(),
        ["--connect", this.address, "--token", token, "--json", ...args],
        { maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          const lines = stdout
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => {
              try {
                return JSON.parse(l);
              } catch {
                return l;
              }
            });
          resolvePromise({ code: typeof code === "number" ? code : 1, lines, stdout, stderr });
        },
      );
    });
  }

  /** `tally --connect ... ARGS` without --json: the raw stdout (payout files, exports). */
  cliText(token: string, args: string[]): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      execFile(
        tallyBinary(),
        ["--connect", this.address, "--token", token, ...args],
        { maxBuffer: 64 << 20 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolvePromise(stdout)),
      );
    });
  }
}
