/**
 * A thin `node:net` shell around `RtmpSession`: one session per TCP connection, socket bytes in, session output
 * out, events to an injected handler, and the connection ended when the session closes, the handshake takes too
 * long, the peer goes quiet or the server shuts down. All protocol logic lives in session.ts; this file only
 * owns sockets and timers (runs on Deno and Bun through their `node:net`).
 */

import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { errorMessage } from "../../shared/errors.ts";
import { type GridTimer, setAlignedInterval } from "../../shared/aligned_timer.ts";
import { type Libc, openLibc } from "../../shared/libc.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
import { receiveLowWater, type SetLowWater } from "../../shared/tcp_low_water.ts";
import {
  type PublishRefusal,
  type RtmpEvent,
  type RtmpPublishEvent,
  RtmpSession,
  type RtmpSessionOptions,
  type SessionOutput,
} from "./session.ts";

/** Who is on the other end of a connection. */
export interface RtmpConnectionInfo {
  /** Server-unique connection number, from 1. */
  id: number;
  remoteAddress: string;
  remotePort: number;
}

/** The owner's answer to a publish: go ahead, or refuse with an onStatus error (the connection then closes). */
export type RtmpPublishDecision = { accept: true } | ({ accept: false } & PublishRefusal);

/** Every event of a connection but `publish`, which goes to `decidePublish`. */
export type RtmpServerEvent = Exclude<RtmpEvent, RtmpPublishEvent>;

/** What the server calls; its calls for one connection come in protocol order. */
export interface RtmpServerHandler {
  /** Decides a publish, now or later. A throw or a rejection refuses it (NetStream.Publish.Denied) and is logged. */
  decidePublish(
    request: RtmpPublishEvent,
    connection: RtmpConnectionInfo,
  ): RtmpPublishDecision | PromiseLike<RtmpPublishDecision>;
  /** Media, metadata, connect and unpublish events, then exactly one `close` per connection. Must not block. */
  onEvent(event: RtmpServerEvent, connection: RtmpConnectionInfo): void;
}

/** Construction options of an `RtmpServer`. */
export interface RtmpServerOptions {
  handler: RtmpServerHandler;
  /** Time from accepting a connection to a finished handshake before it is closed. */
  handshakeTimeoutMs: number;
  /** Time without any byte in either direction before a connection is closed. */
  idleTimeoutMs: number;
  /** Where connection open/close lines go; default silent. */
  logger?: Logger;
  /** Options of every session (chunk sizes, limits). */
  session?: RtmpSessionOptions;
}

/** The address a server listens on. */
export interface RtmpListenAddress {
  hostname: string;
  port: number;
}

/**
 * A publishing connection's socket is read in batches: its receive low-water mark (`SO_RCVLOWAT`) is set to the
 * bytes it brings in 1/`READS_PER_SECOND` of a second, so that the runtime wakes about that often for it rather than
 * for every TCP segment (on the 2-core test VM a wake-up costs about 300 µs of CPU, more than the bytes it brings).
 * Once every `TUNE_INTERVAL_MS` the mark follows the connection's byte rate, first dropping to 1 byte so that what
 * waits below it is read: a stream that slows down, or a command after the media, waits at most that long. The
 * handshake and the commands before publishing are read at once.
 */
const READS_PER_SECOND = 2;
const TUNE_INTERVAL_MS = 1000;
/** The mark until the first tuning, and the highest (below the 2.5 MB acknowledgement window publishers ask for). */
const FIRST_LOW_WATER_BYTES = 16 * 1024;
const MAX_LOW_WATER_BYTES = 256 * 1024;

/** How long `flush` waits for a socket's first bytes, and for more after each. */
const FLUSH_WAIT_MS = 50;
const FLUSH_QUIET_MS = 20;

/** Connections whose low-water marks are tuned, on one timer that runs while there are any. */
class LowWaterTuner {
  readonly #connections = new Set<RtmpConnection>();
  #timer: GridTimer | undefined;

  add(connection: RtmpConnection): void {
    this.#connections.add(connection);
    this.#timer ??= setAlignedInterval(() => {
      for (const tuned of this.#connections) tuned.tuneLowWater();
    }, TUNE_INTERVAL_MS);
  }

  delete(connection: RtmpConnection): void {
    this.#connections.delete(connection);
    if (this.#connections.size > 0) return;
    this.#timer?.clear();
    this.#timer = undefined;
  }
}

/** An RTMP ingest server: `listen`, then `close`. */
export class RtmpServer {
  readonly #options: RtmpServerOptions;
  readonly #logger: Logger;
  readonly #connections = new Set<RtmpConnection>();
  readonly #tuner = new LowWaterTuner();
  /** For the sockets' low-water marks; opened by `listen`, undefined where there is no libc. */
  #libc: Libc | undefined;
  #server: Server | undefined;
  #nextConnectionId = 1;

  constructor(options: RtmpServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Reads now what connection `id` has waiting in its socket (`RtmpConnection.flush`). */
  flush(id: number): Promise<void> {
    return [...this.#connections].find((connection) => connection.id === id)?.flush() ?? Promise.resolve();
  }

  /** Starts listening; port 0 picks a free port, which the returned address names. */
  async listen(address: RtmpListenAddress): Promise<RtmpListenAddress> {
    if (this.#server !== undefined) throw new Error("RtmpServer.listen called twice");
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    this.#libc = await openLibc();
    const reads = this.#libc === undefined ? "as bytes arrive" : `about ${READS_PER_SECOND} a second`;
    return await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.hostname, () => {
        server.off("error", reject);
        server.on("error", (error) => this.#logger("error", "rtmp server error", { error: errorMessage(error) }));
        const bound = server.address() as AddressInfo;
        this.#logger("info", "rtmp listening", { hostname: bound.address, port: bound.port, reads });
        resolve({ hostname: bound.address, port: bound.port });
      });
    });
  }

  /** Stops listening and ends every connection (each gets its unpublish and close events). */
  async close(): Promise<void> {
    const server = this.#server;
    for (const connection of [...this.#connections]) connection.end("server closing");
    if (server === undefined || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const info: RtmpConnectionInfo = {
      id: this.#nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
    };
    const lowWater = { libc: this.#libc, tuner: this.#tuner };
    const connection = new RtmpConnection(socket, info, this.#options, this.#logger, lowWater, () => {
      this.#connections.delete(connection);
    });
    this.#connections.add(connection);
  }
}

/** One socket and its session. */
class RtmpConnection {
  readonly #socket: Socket;
  readonly #info: RtmpConnectionInfo;
  readonly #handler: RtmpServerHandler;
  readonly #logger: Logger;
  readonly #session: RtmpSession;
  readonly #idleTimeoutMs: number;
  readonly #lowWater: { libc: Libc | undefined; tuner: LowWaterTuner };
  /** The socket's low-water mark, once a publish was accepted and it could be set. */
  #setLowWater: SetLowWater | undefined;
  #lowWaterBytes = FIRST_LOW_WATER_BYTES;
  /** The mark was dropped to 1 byte: the next read raises it again to `#lowWaterBytes`. */
  #lowWaterDropped = false;
  #bytesSinceTuning = 0;
  /** `flush` is reading: the mark stays at 1 byte until it is done. */
  #flushing = false;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Destroys the socket if our last bytes cannot be flushed after the session closed. */
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** The close event went to the handler: nothing more goes. */
  #closeDelivered = false;
  /** The handler threw: only unpublish and close events go to it from now on. */
  #handlerFailed = false;

  constructor(
    socket: Socket,
    info: RtmpConnectionInfo,
    options: RtmpServerOptions,
    logger: Logger,
    lowWater: { libc: Libc | undefined; tuner: LowWaterTuner },
    onGone: () => void,
  ) {
    this.#socket = socket;
    this.#lowWater = lowWater;
    this.#info = info;
    this.#handler = options.handler;
    this.#logger = logger;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#session = new RtmpSession(options.session);
    logger("debug", "rtmp connection opened", { ...info });
    socket.setNoDelay(true);
    this.#handshakeTimer = setTimeout(() => {
      this.#handshakeTimer = undefined;
      if (!this.#session.handshakeDone) this.end(`no handshake within ${options.handshakeTimeoutMs} ms`);
    }, options.handshakeTimeoutMs);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on("timeout", () => this.end(`idle for ${options.idleTimeoutMs} ms`));
    socket.on("data", (data: Uint8Array) => this.#receive(data));
    socket.on("error", (error) => this.end(`socket error: ${errorMessage(error)}`));
    socket.on("close", () => {
      this.#lowWater.tuner.delete(this);
      this.end("peer closed the connection");
      clearTimeout(this.#lingerTimer);
      onGone();
    });
  }

  get id(): number {
    return this.#info.id;
  }

  /**
   * Reads every byte as it comes (a low-water mark of 1) until the socket has been quiet for `FLUSH_QUIET_MS`
   * (`FLUSH_WAIT_MS` before the first bytes), so that what the publisher sent until now has reached the session when
   * this settles.
   */
  flush(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed) return Promise.resolve();
    this.#dropLowWater();
    this.#flushing = true;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.off("data", more).off("close", done);
        this.#flushing = false;
        resolve();
      };
      const more = () => {
        clearTimeout(timer);
        timer = setTimeout(done, FLUSH_QUIET_MS);
      };
      let timer = setTimeout(done, FLUSH_WAIT_MS);
      socket.on("data", more).on("close", done);
    });
  }

  /**
   * Sets the mark to the bytes of the last second over `READS_PER_SECOND`, after reading what waits below it; at
   * most a quarter of the publisher's acknowledgement window, so that one waiting for our Acknowledgement is read.
   */
  tuneLowWater(): void {
    const perRead = Math.round(this.#bytesSinceTuning / READS_PER_SECOND);
    const window = this.#session.peerWindowBytes;
    const most = window > 0 ? Math.min(MAX_LOW_WATER_BYTES, Math.floor(window / 4)) : MAX_LOW_WATER_BYTES;
    this.#lowWaterBytes = Math.min(most, Math.max(1, perRead));
    this.#bytesSinceTuning = 0;
    this.#dropLowWater();
  }

  #dropLowWater(): void {
    if (this.#setLowWater === undefined || this.#lowWaterDropped) return;
    this.#lowWaterDropped = this.#setLowWater(1);
  }

  /** Ends the session (its unpublish and close events reach the handler) and destroys the socket at once. */
  end(reason: string): void {
    this.#apply(() => this.#session.close(reason));
    this.#socket.destroy();
  }

  #receive(data: Uint8Array): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#bytesSinceTuning += bytes.byteLength;
    if (this.#lowWaterDropped && !this.#flushing) {
      this.#lowWaterDropped = false;
      this.#setLowWater?.(this.#lowWaterBytes);
    }
    this.#apply(() => this.#session.push(bytes));
    if (this.#handshakeTimer !== undefined && this.#session.handshakeDone) {
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = undefined;
    }
  }

  /** Runs a session call, writes its output and dispatches its events; a bug in the session ends the connection. */
  #apply(call: () => SessionOutput): void {
    let result: SessionOutput;
    try {
      result = call();
    } catch (error) {
      this.#logger("error", "rtmp session failed", { ...this.#info, error: errorMessage(error) });
      this.#socket.destroy();
      const reason = `internal error: ${errorMessage(error)}`;
      this.#dispatch({ type: "close", reason, protocolError: false, stats: this.#session.stats });
      return;
    }
    if (result.output.length > 0 && !this.#socket.destroyed) this.#socket.write(result.output);
    for (const event of result.events) this.#dispatch(event);
  }

  #dispatch(event: RtmpEvent): void {
    if (this.#closeDelivered) return;
    if (event.type === "publish") {
      if (!this.#handlerFailed) this.#decide(event);
      return;
    }
    if (event.type === "close") {
      this.#closeDelivered = true;
      clearTimeout(this.#handshakeTimer);
      this.#socket.setTimeout(0);
      this.#logger(event.protocolError ? "warn" : "info", "rtmp connection closed", {
        ...this.#info,
        reason: event.reason,
        bytesReceived: event.stats.bytesReceived,
        mediaMessages: event.stats.mediaMessages,
        ...(event.stats.unknownCommands.length > 0 ? { unknownCommands: event.stats.unknownCommands.join(",") } : {}),
      });
      // Our last bytes (a refusal's onStatus) go out before the socket ends; a peer that never reads them does
      // not keep it open.
      this.#socket.end(() => this.#socket.destroy());
      this.#lingerTimer = setTimeout(() => this.#socket.destroy(), this.#idleTimeoutMs);
    } else if (this.#handlerFailed && event.type !== "unpublish") {
      return;
    }
    try {
      this.#handler.onEvent(event, this.#info);
    } catch (error) {
      this.#logger("error", "rtmp handler failed", { ...this.#info, event: event.type, error: errorMessage(error) });
      if (this.#handlerFailed || event.type === "close") return;
      this.#handlerFailed = true;
      this.end(`handler failed on ${event.type}: ${errorMessage(error)}`);
    }
  }

  /** Sets the socket's low-water mark and has it tuned; without one (no libc, no descriptor) bytes are read as they come. */
  #readInBatches(): void {
    if (this.#setLowWater !== undefined) return;
    this.#setLowWater = receiveLowWater(this.#lowWater.libc, this.#socket);
    if (this.#setLowWater?.(this.#lowWaterBytes)) this.#lowWater.tuner.add(this);
    else if (this.#lowWater.libc !== undefined) {
      this.#logger("debug", "rtmp reads without a low-water mark", { ...this.#info });
    }
  }

  #decide(request: RtmpPublishEvent): void {
    const refuse = (error: unknown) => {
      this.#logger("error", "rtmp publish decision failed", { ...this.#info, error: errorMessage(error) });
      const refusal = { code: "NetStream.Publish.Denied", description: "publish check failed" } as const;
      this.#apply(() => this.#session.refuse(request.streamId, refusal));
    };
    const answer = (decision: RtmpPublishDecision) => {
      const { app, name } = request;
      this.#logger("info", "rtmp publish", { ...this.#info, app, name, accepted: decision.accept });
      if (decision.accept) this.#readInBatches();
      this.#apply(() =>
        decision.accept ? this.#session.accept(request.streamId) : this.#session.refuse(request.streamId, decision)
      );
    };
    let decision: RtmpPublishDecision | PromiseLike<RtmpPublishDecision>;
    try {
      decision = this.#handler.decidePublish(request, this.#info);
    } catch (error) {
      return refuse(error);
    }
    // A decision made at once is applied at once, so that the client's next bytes find the stream published.
    if ("then" in decision && typeof decision.then === "function") decision.then(answer, refuse);
    else answer(decision as RtmpPublishDecision);
  }
}
