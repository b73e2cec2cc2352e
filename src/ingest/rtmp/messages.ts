/**
 * RTMP message vocabulary: the message value the chunk layer carries, message type ids, and the payloads of the
 * protocol control and user control messages (Adobe RTMP spec §5.4, §6.2, §7.1.7). Commands (AMF0) are built in
 * session.ts; audio and video payloads are FLV tag bodies that this layer never looks into.
 */

/** One whole RTMP message as it leaves the chunk reader or enters the chunk writer. */
export interface RtmpMessage {
  /** Chunk stream it travelled on (2 to 65599); replies choose their own. */
  chunkStreamId: number;
  /** Message type id (see `MessageType`). */
  typeId: number;
  /** Message stream id: 0 for the connection, otherwise a stream made by `createStream`. */
  streamId: number;
  /** 32-bit timestamp in ms, wrapped modulo 2^32 as the chunk headers' deltas add up (§5.3.1.2). */
  timestampMs: number;
  /** The message body. */
  payload: Uint8Array;
}

/** Message type ids (§5.4, §7.1). */
export const MessageType = {
  /** Set Chunk Size (§5.4.1): the sender's chunk size from now on. */
  SetChunkSize: 1,
  /** Abort Message (§5.4.2): drop the partly received message of a chunk stream. */
  Abort: 2,
  /** Acknowledgement (§5.4.3): bytes received so far. */
  Acknowledgement: 3,
  /** User Control Message (§6.2, §7.1.7). */
  UserControl: 4,
  /** Window Acknowledgement Size (§5.4.4): acknowledge every this many bytes. */
  WindowAckSize: 5,
  /** Set Peer Bandwidth (§5.4.5). */
  SetPeerBandwidth: 6,
  /** Audio (§7.1.4): an FLV AUDIODATA body. */
  Audio: 8,
  /** Video (§7.1.5): an FLV VIDEODATA body. */
  Video: 9,
  /** Data message, AMF3 (§7.1.2). */
  DataAmf3: 15,
  /** Shared object message, AMF3 (§7.1.3). */
  SharedObjectAmf3: 16,
  /** Command message, AMF3 (§7.1.1). */
  CommandAmf3: 17,
  /** Data message, AMF0 (§7.1.2): `@setDataFrame`, `onMetaData`. */
  DataAmf0: 18,
  /** Shared object message, AMF0 (§7.1.3). */
  SharedObjectAmf0: 19,
  /** Command message, AMF0 (§7.1.1): `connect`, `createStream`, `publish`... */
  CommandAmf0: 20,
  /** Aggregate message (§7.1.6): FLV-tag-framed sub-messages. */
  Aggregate: 22,
} as const;

/** User Control event types (§7.1.7). */
export const UserControlEvent = {
  /** The server tells the client a stream became functional; data: stream id. */
  StreamBegin: 0,
  /** Playback of a stream ended; data: stream id. */
  StreamEof: 1,
  /** No more data on a stream; data: stream id. */
  StreamDry: 2,
  /** The client's buffer length; data: stream id, buffer length in ms. */
  SetBufferLength: 3,
  /** The stream is a recorded stream; data: stream id. */
  StreamIsRecorded: 4,
  /** Ping from the server; data: timestamp. */
  PingRequest: 6,
  /** Answer to a ping; data: the ping's timestamp. */
  PingResponse: 7,
} as const;

/** Set Peer Bandwidth limit types (§5.4.5). */
export const PeerBandwidthLimit = {
  Hard: 0,
  Soft: 1,
  Dynamic: 2,
} as const;

/** Chunk stream of protocol control messages (§5.4: "chunk stream ID 2"). */
export const CONTROL_CHUNK_STREAM = 2;
/** Chunk stream our command replies go out on. */
export const COMMAND_CHUNK_STREAM = 3;

/** A 4-byte big-endian payload. */
export function u32Payload(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

/** A protocol control message (types 1 to 6) on chunk stream 2, message stream 0, timestamp 0. */
export function controlMessage(typeId: number, payload: Uint8Array): RtmpMessage {
  return { chunkStreamId: CONTROL_CHUNK_STREAM, typeId, streamId: 0, timestampMs: 0, payload };
}

/** Set Peer Bandwidth (§5.4.5): window size in bytes, then the limit type. */
export function setPeerBandwidthPayload(windowBytes: number, limit: number): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, windowBytes >>> 0);
  out[4] = limit;
  return out;
}

/** A User Control message body (§7.1.7): 16-bit event type, then 32-bit values (stream id, ms...). */
export function userControlPayload(event: number, ...values: number[]): Uint8Array {
  const out = new Uint8Array(2 + 4 * values.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, event);
  values.forEach((value, i) => view.setUint32(2 + 4 * i, value >>> 0));
  return out;
}
