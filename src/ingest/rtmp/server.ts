/**
 * A thin `node:net` shell around `RtmpSession`: one session per TCP connection, socket bytes in, session output
 * out, events to an injected handler, and the connection ended when the session closes, the handshake takes too
 * long, the peer goes quiet or the server shuts down. All protocol logic lives in session.ts; this file only
 * owns sockets and timers (runs on Deno and Bun through their `node:net`).
 */

import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { errorMessage } from "../../shared/errors.ts";
import { type Logger, silentLogger } from "../../shared/log.ts";
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
 * Milliseconds a publishing connection's socket rests between two reads. A publisher sends a few KiB at a time, and
 * a runtime wakes up for each read (on the 2-core test VM a wake-up costs about 300 µs of CPU, more than the bytes it
 * brings): resting lets the kernel gather them, so one read takes what came in that time. Recording can afford the
 * latency; the handshake and the commands before publishing are read at once.
 */
const PUBLISHING_READ_INTERVAL_MS = 100;

/** How long `flush` waits for a socket's first bytes, and for more after each. */
const FLUSH_WAIT_MS = 50;
const FLUSH_QUIET_MS = 20;

/**
 * Publishing sockets paused after a read, resumed together on one timer: one wake-up per interval for all of them,
 * and no timer while none rests.
 */
class ReadPacer {
  readonly #resting = new Set<Socket>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  rest(socket: Socket): void {
    socket.pause();
    this.#resting.add(socket);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      const resting = [...this.#resting];
      this.#resting.clear();
      for (const resumed of resting) if (!resumed.destroyed) resumed.resume();
    }, PUBLISHING_READ_INTERVAL_MS);
  }

  forget(socket: Socket): void {
    this.#resting.delete(socket);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resting.clear();
  }
}

/** An RTMP ingest server: `listen`, then `close`. */
export class RtmpServer {
  readonly #options: RtmpServerOptions;
  readonly #logger: Logger;
  readonly #connections = new Set<RtmpConnection>();
  readonly #pacer = new ReadPacer();
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
  listen(address: RtmpListenAddress): Promise<RtmpListenAddress> {
    if (this.#server !== undefined) return Promise.reject(new Error("RtmpServer.listen called twice"));
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.hostname, () => {
        server.off("error", reject);
        server.on("error", (error) => this.#logger("error", "rtmp server error", { error: errorMessage(error) }));
        const bound = server.address() as AddressInfo;
        this.#logger("info", "rtmp listening", { hostname: bound.address, port: bound.port });
        resolve({ hostname: bound.address, port: bound.port });
      });
    });
  }

  /** Stops listening and ends every connection (each gets its unpublish and close events). */
  async close(): Promise<void> {
    const server = this.#server;
    for (const connection of [...this.#connections]) connection.end("server closing");
    this.#pacer.close();
    if (server === undefined || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const info: RtmpConnectionInfo = {
      id: this.#nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
    };
    const connection = new RtmpConnection(socket, info, this.#options, this.#logger, this.#pacer, () => {
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
  readonly #pacer: ReadPacer;
  /** A publish was accepted: reads rest between media bytes. */
  #publishing = false;
  /** `flush` is reading: no rest until it is done. */
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
    pacer: ReadPacer,
    onGone: () => void,
  ) {
    this.#socket = socket;
    this.#pacer = pacer;
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
      this.#pacer.forget(socket);
      this.end("peer closed the connection");
      clearTimeout(this.#lingerTimer);
      onGone();
    });
  }

  get id(): number {
    return this.#info.id;
  }

  /**
   * Reads the socket without resting until it has been quiet for `FLUSH_QUIET_MS` (`FLUSH_WAIT_MS` before the first
   * bytes), so that what the publisher sent until now has reached the session when this settles.
   */
  flush(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed) return Promise.resolve();
    this.#pacer.forget(socket);
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
      socket.resume();
    });
  }

  /** Ends the session (its unpublish and close events reach the handler) and destroys the socket at once. */
  end(reason: string): void {
    this.#apply(() => this.#session.close(reason));
    this.#socket.destroy();
  }

  #receive(data: Uint8Array): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#apply(() => this.#session.push(bytes));
    if (this.#handshakeTimer !== undefined && this.#session.handshakeDone) {
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = undefined;
    }
    if (this.#publishing && !this.#flushing && !this.#socket.destroyed) this.#pacer.rest(this.#socket);
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

  #decide(request: RtmpPublishEvent): void {
    const refuse = (error: unknown) => {
      this.#logger("error", "rtmp publish decision failed", { ...this.#info, error: errorMessage(error) });
      const refusal = { code: "NetStream.Publish.Denied", description: "publish check failed" } as const;
      this.#apply(() => this.#session.refuse(request.streamId, refusal));
    };
    const answer = (decision: RtmpPublishDecision) => {
      const { app, name } = request;
      this.#logger("info", "rtmp publish", { ...this.#info, app, name, accepted: decision.accept });
      this.#publishing = decision.accept;
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
