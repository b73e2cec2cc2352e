/**
 * One RTMP publishing connection as a pure state machine (Adobe RTMP spec §5, §7): bytes in, bytes out and
 * events. It runs the handshake, the protocol control messages, the NetConnection and NetStream commands of a
 * publisher (`connect`, `releaseStream`, `FCPublish`, `createStream`, `publish`, `FCUnpublish`, `deleteStream`,
 * `closeStream`) and hands out metadata and raw audio/video message bodies. It opens no socket, starts no timer
 * and reads no clock; whether a publish is allowed is the owner's call (`accept` / `refuse`), and so is closing
 * the socket after a `close` event. Playback (`play`) is refused: liverec only ingests.
 *
 * Every method returns a `SessionOutput`: bytes to write to the peer, in order, and the events to act on, in
 * order. A protocol violation never throws: it ends the session with a `close` event naming the fault. Unknown
 * commands do not end it: one that carries a transaction id is answered with `_error` (NetConnection.Call.Failed),
 * one without (id 0) is ignored; both are counted in `stats.ignoredMessages`.
 */

import { TimestampUnwrapper } from "../../rtp/mod.ts";
import { type Amf0Object, amf0Object, type Amf0Value, decodeAmf0, encodeAmf0 } from "./amf0.ts";
import { ChunkReader, ChunkWriter } from "./chunk_stream.ts";
import { RtmpProtocolError } from "./errors.ts";
import { HANDSHAKE_PACKET_BYTES, ServerHandshake } from "./handshake.ts";
import {
  COMMAND_CHUNK_STREAM,
  controlMessage,
  MessageType,
  PeerBandwidthLimit,
  type RtmpMessage,
  setPeerBandwidthPayload,
  u32Payload,
  UserControlEvent,
  userControlPayload,
} from "./messages.ts";

/** Tunables of a session; every field has a default. */
export interface RtmpSessionOptions {
  /** Our outgoing chunk size, announced with Set Chunk Size right after `connect`; default 4096. */
  chunkSizeBytes?: number;
  /** Window Acknowledgement Size we announce (the peer acknowledges our bytes at this interval); default 5,000,000. */
  windowAckSizeBytes?: number;
  /** Set Peer Bandwidth we announce, dynamic limit; default 5,000,000. */
  peerBandwidthBytes?: number;
  /** Largest message accepted (see `ChunkReaderOptions`); default 16 MiB - 1. */
  maxMessageSizeBytes?: number;
  /** Most bytes held in partly received messages; default twice `maxMessageSizeBytes`. */
  maxPendingBytes?: number;
  /** Most streams one connection may create with `createStream`; default 8. */
  maxStreams?: number;
  /** Most payload bytes of media and metadata held for a publish the owner has not decided yet; default 8 MiB. */
  maxHeldBytes?: number;
  /** Random bytes for S1 of the handshake; default `crypto.getRandomValues`. */
  randomBytes?: (sizeBytes: number) => Uint8Array;
}

/** The client connected to an application (`connect` command, §7.2.1.1). */
export interface RtmpConnectEvent {
  type: "connect";
  /** The `app` property, without a trailing slash or query: "live" for rtmp://host/live/cam1. */
  app: string;
  /** The `tcUrl` property, when sent: the URL the client connected to, without the stream name. */
  tcUrl: string | undefined;
}

/** A client asks to publish; answer with `accept(streamId)` or `refuse(streamId, refusal)`. */
export interface RtmpPublishEvent {
  type: "publish";
  /** Message stream id the publish arrived on: the key of `accept` and `refuse`. */
  streamId: number;
  /** Application of the connection (see `RtmpConnectEvent`). */
  app: string;
  /** tcUrl of the connection, when sent. */
  tcUrl: string | undefined;
  /** Stream name without its query: "cam1" for `cam1?token=abc`. */
  name: string;
  /** Query parameters of the name, and of the app when it carried one (the name's win). */
  query: URLSearchParams;
  /** Publishing type: "live", "record" or "append" (§7.2.2.6); "live" when left out. */
  publishType: string;
}

/** `onMetaData` of an accepted stream (`@setDataFrame` or bare), as decoded. */
export interface RtmpMetadataEvent {
  type: "metadata";
  streamId: number;
  /** Extended timestamp (see `RtmpMediaEvent.timestampMs`). */
  timestampMs: number;
  /** The metadata value: usually an `Amf0EcmaArray` or an object of `duration`, `width`, `videocodecid`... */
  metadata: Amf0Value;
}

/** An audio (type 8) or video (type 9) message of an accepted stream: an FLV tag body, untouched. */
export interface RtmpMediaEvent {
  type: "media";
  kind: "audio" | "video";
  streamId: number;
  /**
   * Message timestamp in ms, extended past the 32-bit wrap (49.7 days) by serial number arithmetic as RTMP spec §4
   * asks (RFC 1982), one timeline for the whole connection; below 0 only for a message older than the first.
   */
  timestampMs: number;
  /** The message body: FLV AUDIODATA / VIDEODATA (codec headers included). */
  payload: Uint8Array;
}

/** A stream that had a `publish` event is gone; emitted once per publish that was not refused. */
export interface RtmpUnpublishEvent {
  type: "unpublish";
  streamId: number;
  name: string;
  /** What ended it: "FCUnpublish", "closeStream", "deleteStream" or "connection closed". */
  reason: string;
}

/** The session is over: write the output, then end the socket. Always the last event, emitted once. */
export interface RtmpCloseEvent {
  type: "close";
  /** Log-able reason: "protocol error: ...", "publish refused: ...", or the owner's reason. */
  reason: string;
  /** True when the peer broke the protocol. */
  protocolError: boolean;
  /** The session's final counters. */
  stats: RtmpSessionStats;
}

/** Everything a session tells its owner. */
export type RtmpEvent =
  | RtmpConnectEvent
  | RtmpPublishEvent
  | RtmpMetadataEvent
  | RtmpMediaEvent
  | RtmpUnpublishEvent
  | RtmpCloseEvent;

/** Result of every session call: bytes for the peer and events for the owner, both in order. */
export interface SessionOutput {
  output: Uint8Array;
  events: RtmpEvent[];
}

/** onStatus codes a refusal may use; clients show them (FFmpeg: "Server error: <description>"). */
export type PublishRefusalCode =
  | "NetStream.Publish.BadName"
  | "NetStream.Publish.Unauthorized"
  | "NetStream.Publish.Denied";

/** Why a publish is refused: sent to the client as an error-level onStatus. */
export interface PublishRefusal {
  /** Default "NetStream.Publish.BadName". */
  code?: PublishRefusalCode;
  /** Human-readable reason, shown by clients. */
  description: string;
}

/** Counters of one session, for logs. */
export interface RtmpSessionStats {
  /** All bytes received, handshake included. */
  bytesReceived: number;
  /** Whole messages received (after reassembly). */
  messagesReceived: number;
  /** Audio and video messages of published or pending streams (handed out, or held until the decision). */
  mediaMessages: number;
  /** Audio, video and data messages of streams not published (or over the hold limit), dropped. */
  droppedMessages: number;
  /** Commands and data messages not understood, ignored (or answered with `_error`). */
  ignoredMessages: number;
  /** The first few distinct names of the commands not understood, for the log. */
  unknownCommands: string[];
  /** The peer's chunk size now (its last Set Chunk Size; 128 before one). */
  peerChunkSizeBytes: number;
}

type StreamState =
  | { status: "created" }
  | { status: "pending"; name: string; held: RtmpEvent[]; heldBytes: number }
  | { status: "publishing"; name: string };

const EMPTY = new Uint8Array(0);

/** One RTMP connection's protocol state; see the file comment for the contract. */
export class RtmpSession {
  readonly #handshake: ServerHandshake;
  readonly #reader: ChunkReader;
  readonly #unknownCommands = new Set<string>();
  readonly #writer = new ChunkWriter();
  readonly #unwrapper = new TimestampUnwrapper();
  readonly #streams = new Map<number, StreamState>();
  readonly #chunkSizeBytes: number;
  readonly #windowAckSizeBytes: number;
  readonly #peerBandwidthBytes: number;
  readonly #maxStreams: number;
  readonly #maxHeldBytes: number;
  readonly #stats: Omit<RtmpSessionStats, "peerChunkSizeBytes" | "unknownCommands"> = {
    bytesReceived: 0,
    messagesReceived: 0,
    mediaMessages: 0,
    droppedMessages: 0,
    ignoredMessages: 0,
  };
  #connection: { app: string; appQuery: URLSearchParams; tcUrl: string | undefined } | undefined;
  #nextStreamId = 1;
  /** Acknowledgement window the peer asked for (0: none yet) and the byte count last acknowledged. */
  #peerWindowBytes = 0;
  #acknowledgedBytes = 0;
  #closed = false;
  #output: Uint8Array[] = [];
  #events: RtmpEvent[] = [];

  constructor(options: RtmpSessionOptions = {}) {
    const randomBytes = options.randomBytes ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
    this.#handshake = new ServerHandshake(randomBytes(HANDSHAKE_PACKET_BYTES - 8));
    const readerOptions: { maxMessageSizeBytes?: number; maxPendingBytes?: number } = {};
    if (options.maxMessageSizeBytes !== undefined) readerOptions.maxMessageSizeBytes = options.maxMessageSizeBytes;
    if (options.maxPendingBytes !== undefined) readerOptions.maxPendingBytes = options.maxPendingBytes;
    this.#reader = new ChunkReader(readerOptions);
    this.#chunkSizeBytes = options.chunkSizeBytes ?? 4096;
    this.#windowAckSizeBytes = options.windowAckSizeBytes ?? 5_000_000;
    this.#peerBandwidthBytes = options.peerBandwidthBytes ?? 5_000_000;
    this.#maxStreams = options.maxStreams ?? 8;
    this.#maxHeldBytes = options.maxHeldBytes ?? 8 * 1024 * 1024;
  }

  /** True once C2 has been read. */
  get handshakeDone(): boolean {
    return this.#handshake.done;
  }

  /** The acknowledgement window the peer asked for (0: none yet): it may wait for our Acknowledgement after it. */
  get peerWindowBytes(): number {
    return this.#peerWindowBytes;
  }

  /** True after the `close` event. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  get stats(): RtmpSessionStats {
    return {
      ...this.#stats,
      unknownCommands: [...this.#unknownCommands],
      peerChunkSizeBytes: this.#reader.chunkSizeBytes,
    };
  }

  /** Takes bytes from the peer, in any pieces. After `close`, bytes are ignored. */
  push(bytes: Uint8Array): SessionOutput {
    if (this.#closed) return this.#flush();
    this.#stats.bytesReceived += bytes.length;
    try {
      let rest = bytes;
      if (!this.#handshake.done) {
        const handshake = this.#handshake.push(bytes);
        this.#output.push(handshake.output);
        if (!handshake.done) return this.#flush();
        rest = handshake.rest;
      }
      this.#reader.push(rest);
      while (!this.#closed) {
        const message = this.#reader.read();
        if (message === undefined) break;
        this.#stats.messagesReceived++;
        this.#handle(message);
      }
      this.#acknowledge();
    } catch (error) {
      if (!(error instanceof RtmpProtocolError)) throw error;
      this.#shutdown(`protocol error: ${error.message}`, true);
    }
    return this.#flush();
  }

  /**
   * Lets a pending publish start: StreamBegin and NetStream.Publish.Start go out, and any media the client sent
   * early comes back as events. Does nothing for a stream that is not pending (unpublished meanwhile, or closed).
   */
  accept(streamId: number): SessionOutput {
    const stream = this.#streams.get(streamId);
    if (this.#closed || stream?.status !== "pending") return this.#flush();
    this.#streams.set(streamId, { status: "publishing", name: stream.name });
    this.#send(controlMessage(MessageType.UserControl, userControlPayload(UserControlEvent.StreamBegin, streamId)));
    this.#onStatus(streamId, "status", "NetStream.Publish.Start", `${stream.name} is now published.`);
    this.#events.push(...stream.held);
    return this.#flush();
  }

  /** Refuses a pending publish with an error-level onStatus, then closes the session. No-op if not pending. */
  refuse(streamId: number, refusal: PublishRefusal): SessionOutput {
    const stream = this.#streams.get(streamId);
    if (this.#closed || stream?.status !== "pending") return this.#flush();
    const code = refusal.code ?? "NetStream.Publish.BadName";
    this.#streams.set(streamId, { status: "created" });
    this.#onStatus(streamId, "error", code, refusal.description);
    this.#shutdown(`publish refused: ${stream.name}: ${code}: ${refusal.description}`, false);
    return this.#flush();
  }

  /** Ends the session from the owner's side (peer gone, timeout, shutdown): unpublish events, then `close`. */
  close(reason: string): SessionOutput {
    const cut = this.#reader.incompleteBytes;
    if (!this.#closed) this.#shutdown(cut > 0 ? `${reason}, cutting off a message after ${cut} bytes` : reason, false);
    return this.#flush();
  }

  #handle(message: RtmpMessage): void {
    switch (message.typeId) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
        return; // applied by the chunk reader
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return; // we send too little for flow control to matter
      case MessageType.WindowAckSize:
        this.#peerWindowBytes = u32(message.payload, 0, "Window Acknowledgement Size");
        return;
      case MessageType.UserControl:
        return this.#userControl(message.payload);
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        return this.#command(message);
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
        return this.#data(message);
      case MessageType.Audio:
      case MessageType.Video:
        return this.#media(message);
      case MessageType.Aggregate:
        return this.#aggregate(message);
      default:
        this.#stats.ignoredMessages++; // shared objects and unknown types
    }
  }

  #userControl(payload: Uint8Array): void {
    if (payload.length < 2) fail(`User Control message of ${payload.length} bytes`);
    const event = (payload[0]! << 8) | payload[1]!;
    if (event === UserControlEvent.PingRequest) {
      const timestamp = u32(payload, 2, "PingRequest");
      this.#send(controlMessage(MessageType.UserControl, userControlPayload(UserControlEvent.PingResponse, timestamp)));
    }
  }

  /**
   * AMF0 commands, and AMF3 ones (type 17) that carry AMF0 after a leading 0 byte. Unknown commands with a
   * transaction id are answered with `_error` (NetConnection.Call.Failed), as FMS does, so a client waiting for
   * a reply does not hang; unknown commands without one (id 0) are ignored. Both are counted, neither ends the
   * session. A command that does not decode does end it.
   */
  #command(message: RtmpMessage): void {
    const values = decodeAmf0(amf0Body(message));
    const [name, transaction, , ...args] = values;
    if (typeof name !== "string") fail(`command message whose first value is not a name: ${describe(name)}`);
    const transactionId = typeof transaction === "number" ? transaction : 0;
    const commandObject = values[2];
    if (name !== "connect" && this.#connection === undefined && !IGNORED_COMMANDS.has(name)) {
      fail(`command "${name}" before connect`);
    }
    switch (name) {
      case "connect":
        return this.#connect(transactionId, commandObject);
      case "releaseStream":
        if (transactionId !== 0) this.#command0("_result", transactionId, null, undefined);
        return;
      case "FCPublish":
        this.#command0("onFCPublish", 0, null, status("status", "NetStream.Publish.Start", text(args[0])));
        return;
      case "createStream":
        return this.#createStream(transactionId);
      case "publish":
        return this.#publish(message.streamId, args);
      case "FCUnpublish":
        this.#unpublishByName(text(args[0]).split("?")[0]!, "FCUnpublish");
        this.#command0("onFCUnpublish", 0, null, status("status", "NetStream.Unpublish.Success", text(args[0])));
        return;
      case "closeStream":
        return this.#unpublish(message.streamId, "closeStream", false);
      case "deleteStream":
        return this.#unpublish(typeof args[0] === "number" ? args[0] : message.streamId, "deleteStream", true);
      case "play":
      case "play2":
        this.#onStatus(message.streamId, "error", "NetStream.Play.Failed", "this server only accepts publishing");
        return this.#shutdown(`refused ${name}: this server only accepts publishing`, false);
      default:
        this.#stats.ignoredMessages++;
        if (this.#unknownCommands.size < MAX_UNKNOWN_COMMANDS && !IGNORED_COMMANDS.has(name)) {
          this.#unknownCommands.add(name.slice(0, 64));
        }
        if (transactionId !== 0 && !IGNORED_COMMANDS.has(name)) {
          this.#command0(
            "_error",
            transactionId,
            null,
            status("error", "NetConnection.Call.Failed", `unknown ${name}`),
          );
        }
    }
  }

  #connect(transactionId: number, commandObject: Amf0Value): void {
    if (this.#connection !== undefined) fail("a second connect on the same connection");
    const properties = commandObject instanceof Map ? commandObject : new Map<string, Amf0Value>();
    const [app = "", appQuery = ""] = text(properties.get("app")).split("?", 2);
    const tcUrl = properties.get("tcUrl");
    this.#connection = {
      app: app.replace(/\/+$/, ""),
      appQuery: new URLSearchParams(appQuery),
      tcUrl: typeof tcUrl === "string" ? tcUrl : undefined,
    };
    this.#send(controlMessage(MessageType.WindowAckSize, u32Payload(this.#windowAckSizeBytes)));
    this.#send(
      controlMessage(
        MessageType.SetPeerBandwidth,
        setPeerBandwidthPayload(this.#peerBandwidthBytes, PeerBandwidthLimit.Dynamic),
      ),
    );
    this.#send(controlMessage(MessageType.SetChunkSize, u32Payload(this.#chunkSizeBytes)));
    this.#writer.setChunkSize(this.#chunkSizeBytes);
    // We speak AMF0 only, whatever objectEncoding the client offered: it falls back to AMF0 on seeing 0.
    const info = status("status", "NetConnection.Connect.Success", "Connection succeeded.");
    info.set("objectEncoding", 0);
    this.#command0("_result", transactionId, amf0Object({ fmsVer: "FMS/3,0,1,123", capabilities: 31 }), info);
    this.#events.push({ type: "connect", app: this.#connection.app, tcUrl: this.#connection.tcUrl });
  }

  #createStream(transactionId: number): void {
    if (this.#streams.size >= this.#maxStreams) {
      const description = `at most ${this.#maxStreams} streams per connection`;
      this.#command0("_error", transactionId, null, status("error", "NetConnection.Call.Failed", description));
      return;
    }
    const streamId = this.#nextStreamId++;
    this.#streams.set(streamId, { status: "created" });
    this.#command0("_result", transactionId, null, streamId);
  }

  #publish(streamId: number, args: Amf0Value[]): void {
    const connection = this.#connection!;
    const stream = this.#streams.get(streamId);
    const fullName = text(args[0]);
    const queryStart = fullName.indexOf("?");
    const name = queryStart < 0 ? fullName : fullName.slice(0, queryStart);
    const refusal = stream === undefined
      ? `publish on stream ${streamId}, which createStream did not make`
      : stream.status !== "created"
      ? `stream ${streamId} is already publishing`
      : name === ""
      ? "empty stream name"
      : undefined;
    if (refusal !== undefined) {
      this.#onStatus(streamId, "error", "NetStream.Publish.BadName", refusal);
      return this.#shutdown(`publish refused: ${refusal}`, false);
    }
    const query = new URLSearchParams(connection.appQuery);
    for (const [key, value] of new URLSearchParams(queryStart < 0 ? "" : fullName.slice(queryStart + 1))) {
      query.set(key, value);
    }
    this.#streams.set(streamId, { status: "pending", name, held: [], heldBytes: 0 });
    this.#events.push({
      type: "publish",
      streamId,
      app: connection.app,
      tcUrl: connection.tcUrl,
      name,
      query,
      publishType: typeof args[1] === "string" && args[1] !== "" ? args[1] : "live",
    });
  }

  #unpublishByName(name: string, reason: string): void {
    for (const [streamId, stream] of this.#streams) {
      if (stream.status !== "created" && stream.name === name) this.#unpublish(streamId, reason, false);
    }
  }

  /** Ends the publish of `streamId`, if any, with an unpublish event; `remove` forgets the stream too. */
  #unpublish(streamId: number, reason: string, remove: boolean): void {
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    if (stream.status !== "created") this.#events.push({ type: "unpublish", streamId, name: stream.name, reason });
    if (remove) this.#streams.delete(streamId);
    else this.#streams.set(streamId, { status: "created" });
  }

  /** `@setDataFrame` / `onMetaData` become metadata events; other data messages and undecodable ones are ignored. */
  #data(message: RtmpMessage): void {
    let values: Amf0Value[];
    try {
      values = decodeAmf0(amf0Body(message));
    } catch (error) {
      if (!(error instanceof RtmpProtocolError)) throw error;
      this.#stats.ignoredMessages++; // metadata is not worth a broken publish
      return;
    }
    const [first, ...rest] = values;
    const [name, metadata] = first === "@setDataFrame" ? rest : [first, ...rest];
    if (name !== "onMetaData") {
      this.#stats.ignoredMessages++;
      return;
    }
    this.#deliver(message.streamId, {
      type: "metadata",
      streamId: message.streamId,
      timestampMs: this.#unwrapper.unwrap(message.timestampMs),
      metadata,
    }, message.payload.length);
  }

  #media(message: RtmpMessage): void {
    this.#deliver(message.streamId, {
      type: "media",
      kind: message.typeId === MessageType.Audio ? "audio" : "video",
      streamId: message.streamId,
      timestampMs: this.#unwrapper.unwrap(message.timestampMs),
      payload: message.payload,
    }, message.payload.length);
  }

  /** An event of a publishing stream goes out; one of a pending stream is held until accepted; others drop. */
  #deliver(streamId: number, event: RtmpMetadataEvent | RtmpMediaEvent, sizeBytes: number): void {
    const stream = this.#streams.get(streamId);
    if (stream?.status === "publishing") {
      this.#events.push(event);
    } else if (stream?.status === "pending" && stream.heldBytes + sizeBytes <= this.#maxHeldBytes) {
      stream.held.push(event);
      stream.heldBytes += sizeBytes;
    } else {
      this.#stats.droppedMessages++;
      return;
    }
    if (event.type === "media") this.#stats.mediaMessages++;
  }

  /**
   * Aggregate message (§7.1.6): FLV-tag-framed sub-messages (type, size, timestamp, stream id, body, back
   * pointer) with timestamps relative to the first one, each handled as if it had come alone.
   */
  #aggregate(message: RtmpMessage): void {
    const { payload } = message;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    let firstTimestampMs: number | undefined;
    for (let pos = 0; pos < payload.length;) {
      if (pos + 11 > payload.length) fail(`aggregate message: sub-message header cut at byte ${pos}`);
      const typeId = payload[pos]!;
      const sizeBytes = view.getUint32(pos) & 0xff_ffff;
      const timestampMs = ((payload[pos + 7]! << 24) | (view.getUint32(pos + 4) >>> 8)) >>> 0;
      const end = pos + 11 + sizeBytes;
      if (end + 4 > payload.length) fail(`aggregate message: sub-message of ${sizeBytes} bytes overruns it`);
      firstTimestampMs ??= timestampMs;
      const sub: RtmpMessage = {
        chunkStreamId: message.chunkStreamId,
        typeId,
        streamId: message.streamId,
        timestampMs: (message.timestampMs + timestampMs - firstTimestampMs) >>> 0,
        payload: payload.subarray(pos + 11, end),
      };
      if (typeId === MessageType.Aggregate) fail("aggregate message inside an aggregate message");
      this.#handle(sub);
      pos = end + 4; // skip the back pointer
    }
  }

  /** Sends an Acknowledgement each time the peer's window of received bytes is passed (§5.4.3). */
  #acknowledge(): void {
    if (this.#closed || this.#peerWindowBytes === 0) return;
    if (this.#stats.bytesReceived - this.#acknowledgedBytes < this.#peerWindowBytes) return;
    this.#acknowledgedBytes = this.#stats.bytesReceived;
    this.#send(controlMessage(MessageType.Acknowledgement, u32Payload(this.#stats.bytesReceived)));
  }

  #onStatus(streamId: number, level: "status" | "error", code: string, description: string): void {
    const payload = encodeAmf0("onStatus", 0, null, status(level, code, description));
    this.#send({
      chunkStreamId: COMMAND_CHUNK_STREAM,
      typeId: MessageType.CommandAmf0,
      streamId,
      timestampMs: 0,
      payload,
    });
  }

  /** An AMF0 command on message stream 0. */
  #command0(name: string, transactionId: number, ...values: Amf0Value[]): void {
    const payload = encodeAmf0(name, transactionId, ...values);
    this.#send({
      chunkStreamId: COMMAND_CHUNK_STREAM,
      typeId: MessageType.CommandAmf0,
      streamId: 0,
      timestampMs: 0,
      payload,
    });
  }

  #send(message: RtmpMessage): void {
    this.#output.push(this.#writer.write(message));
  }

  #shutdown(reason: string, protocolError: boolean): void {
    for (const [streamId, stream] of this.#streams) {
      if (stream.status !== "created") {
        this.#events.push({ type: "unpublish", streamId, name: stream.name, reason: "connection closed" });
      }
    }
    this.#streams.clear();
    this.#events.push({ type: "close", reason, protocolError, stats: this.stats });
    this.#closed = true;
  }

  #flush(): SessionOutput {
    const parts = this.#output.filter((part) => part.length > 0);
    const output = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : join(parts);
    const events = this.#events;
    this.#output = [];
    this.#events = [];
    return { output, events };
  }
}

/** Commands that need no connection and get no reply: responses to calls a client thinks we made. */
/** How many distinct unknown command names a session keeps for its close log line. */
const MAX_UNKNOWN_COMMANDS = 8;
const IGNORED_COMMANDS = new Set(["_result", "_error", "onStatus", "onBWDone", "_checkbw", "onBWCheck"]);

/** An onStatus / _result information object (§7.2.2). */
function status(level: "status" | "error", code: string, description: string): Amf0Object {
  return amf0Object({ level, code, description });
}

/** The AMF0 bytes of a command or data message: AMF3 ones (types 15, 17) start with a 0 format byte. */
function amf0Body(message: RtmpMessage): Uint8Array {
  const amf3 = message.typeId === MessageType.CommandAmf3 || message.typeId === MessageType.DataAmf3;
  return amf3 && message.payload[0] === 0 ? message.payload.subarray(1) : message.payload;
}

function text(value: Amf0Value): string {
  return typeof value === "string" ? value : "";
}

function describe(value: Amf0Value): string {
  return value instanceof Map ? "an object" : Array.isArray(value) ? "an array" : JSON.stringify(value) ?? "undefined";
}

function u32(payload: Uint8Array, offset: number, what: string): number {
  if (payload.length < offset + 4) fail(`${what} message of ${payload.length} bytes, expected ${offset + 4}`);
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(offset);
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function fail(reason: string): never {
  throw new RtmpProtocolError(reason);
}
