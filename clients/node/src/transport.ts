// A Cap'n Proto RPC transport over a Node stream socket (unix or TCP), for capnp-es's Conn.
//
// Framing is Cap'n Proto's standard stream framing (what the C++ two-party network speaks): a
// little-endian u32 segment count minus one, a u32 size in words per segment, padding to a whole
// word, then the segments. Outgoing messages are framed by capnp-es's Message.toArrayBuffer();
// incoming bytes are split into whole messages here.
//
// Contract:
// - recvMessage() resolves with the next message in arrival order; at most one recvMessage() is
//   outstanding at a time (Conn's work loop). Once the socket has closed it rejects with
//   `undefined`, which Conn reads as "stop quietly".
// - onClose(err) is called exactly once, when the socket closes for any reason (peer closed, reset,
//   a frame over the limits, close() called); err says why, null for a local close().
// - A frame whose header announces more than maxSegments segments or more than maxMessageBytes
//   bytes closes the socket (the peer is not speaking Cap'n Proto or is hostile).
// Single-threaded (Node's event loop): no locking.
import type { Socket } from "node:net";
import { Message } from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";

/** What a transport reads before it gives up on a peer. */
export interface FrameLimits {
  /** The largest message accepted, header included (bytes). */
  maxMessageBytes: number;
  /** The most segments a message may have. */
  maxSegments: number;
}

export const defaultFrameLimits: FrameLimits = {
  maxMessageBytes: 64 * 1024 * 1024, // the server's own limit: 8 Mi words
  maxSegments: 512,
};

const wordBytes = 8;

export class SocketTransport {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  // The size of the frame being read, once its header is complete; 0 while unknown.
  private frameBytes = 0;
  private ready: RpcMessage[] = [];
  private waiter?: { resolve: (m: RpcMessage) => void; reject: (e?: unknown) => void };
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly onClose: (err: Error | null) => void,
    private readonly limits: FrameLimits = defaultFrameLimits,
  ) {
    socket.on("data", (data: Buffer) => this.receive(data));
    socket.on("error", (err: Error) => this.shut(err));
    socket.on("close", () => this.shut(new Error("the server closed the connection")));
  }

  sendMessage(msg: RpcMessage): void {
    if (this.closed) return; // the caller's call fails through onClose
    const bytes = msg.segment.message.toArrayBuffer();
    this.socket.write(new Uint8Array(bytes));
  }

  recvMessage(): Promise<RpcMessage> {
    const next = this.ready.shift();
    if (next) return Promise.resolve(next);
    if (this.closed) return Promise.reject(undefined);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  close(): void {
    this.shut(null);
  }

  private shut(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.chunks = [];
    this.bufferedBytes = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(undefined);
    this.onClose(err);
  }

  private receive(data: Buffer): void {
    if (this.closed) return;
    this.chunks.push(data);
    this.bufferedBytes += data.length;
    for (;;) {
      if (this.frameBytes === 0) {
        const size = this.frameSize();
        if (size === null) return; // header incomplete
        if (size instanceof Error) return this.shut(size);
        this.frameBytes = size;
      }
      if (this.bufferedBytes < this.frameBytes) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const frame = all.subarray(0, this.frameBytes);
      const rest = all.subarray(this.frameBytes);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.frameBytes = 0;
      let msg: RpcMessage;
      try {
        // A copy: the message keeps its own ArrayBuffer, not a view into a pooled socket buffer.
        const copy = new Uint8Array(frame).buffer;
        msg = new Message(copy, false).getRoot(RpcMessage);
      } catch (e) {
        return this.shut(new Error(`malformed message from the server: ${String(e)}`));
      }
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        w.resolve(msg);
      } else {
        this.ready.push(msg);
      }
    }
  }

  // The whole frame's size once its header is buffered; null while it is not; an Error when the
  // header is outside the limits.
  private frameSize(): number | Error | null {
    if (this.bufferedBytes < 4) return null;
    const head = this.peek(4);
    const segments = head.readUInt32LE(0) + 1;
    if (segments > this.limits.maxSegments) {
      return new Error(`message with ${segments} segments (limit ${this.limits.maxSegments})`);
    }
    const headerBytes = Math.ceil(((1 + segments) * 4) / wordBytes) * wordBytes;
    if (this.bufferedBytes < headerBytes) return null;
    const header = this.peek(headerBytes);
    let total = headerBytes;
    for (let i = 0; i < segments; i++) {
      total += header.readUInt32LE(4 + 4 * i) * wordBytes;
      if (total > this.limits.maxMessageBytes) {
        return new Error(`message over ${this.limits.maxMessageBytes} bytes`);
      }
    }
    return total;
  }

  // The first n buffered bytes (n <= bufferedBytes), joining chunks when needed.
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }
}
