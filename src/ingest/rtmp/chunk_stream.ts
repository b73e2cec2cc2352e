/**
 * The RTMP chunk stream (Adobe RTMP spec §5.3): `ChunkReader` turns bytes arriving in arbitrary pieces into whole
 * messages, `ChunkWriter` cuts our messages into chunks. The reader keeps per-chunk-stream header state, applies
 * the peer's Set Chunk Size and Abort itself (they change how the very next bytes parse), and bounds memory: a
 * message is never larger than the configured cap and partly received messages never hold more than a second
 * cap, counted in bytes actually received rather than in lengths announced. It does not interpret any other
 * message; that is the session's job.
 */

import { RtmpProtocolError } from "./errors.ts";
import { MessageType, type RtmpMessage } from "./messages.ts";

/** Chunk size of both directions until a Set Chunk Size says otherwise (§5.4.1). */
export const DEFAULT_CHUNK_SIZE_BYTES = 128;
/** Largest chunk size a Set Chunk Size may announce: 31 bits (§5.4.1). */
export const MAX_CHUNK_SIZE_BYTES = 0x7fff_ffff;
/** Largest message a 24-bit length field can announce: 16 MiB - 1. */
export const MAX_MESSAGE_SIZE_BYTES = 0xff_ffff;
/** Highest chunk stream id, in the 3-byte basic header form (§5.3.1.1). */
export const MAX_CHUNK_STREAM_ID = 65_599;

/** A 24-bit timestamp field of 0xFFFFFF means a 32-bit Extended Timestamp follows (§5.3.1.3). */
const EXTENDED_TIMESTAMP_MARK = 0xff_ffff;
/** Basic header (up to 3) + type 0 message header (11) + extended timestamp (4). */
const MAX_HEADER_BYTES = 18;
/** Message header sizes by chunk type (fmt) 0 to 3 (§5.3.1.2). */
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;
const NO_BYTES = new Uint8Array(0);

/** Limits of a `ChunkReader`. */
export interface ChunkReaderOptions {
  /** Largest message accepted, at most (and by default) 16 MiB - 1; a larger announced length is an error. */
  maxMessageSizeBytes?: number;
  /** Most bytes held in partly received messages over all chunk streams; default twice the message cap. */
  maxPendingBytes?: number;
}

/** Header state of one chunk stream: the fields later chunk headers leave out (§5.3.1.2). */
interface ChunkStreamState {
  readonly chunkStreamId: number;
  typeId: number;
  streamId: number;
  lengthBytes: number;
  /** Timestamp of the current (or last) message, 32 bits. */
  timestampMs: number;
  /**
   * The last timestamp field read: absolute after type 0, a delta after types 1 and 2. A type 3 header that starts
   * a new message adds it again; after a type 0 that makes it the absolute value, as FFmpeg and librtmp write.
   */
  timestampFieldMs: number;
  /** Whether the last type 0, 1 or 2 header had an extended timestamp: type 3 headers then carry one too. */
  extended: boolean;
  /**
   * The message in progress, when the input held all its bytes as it began (the usual case): its chunks' data is
   * copied straight in. Otherwise its pieces are kept in `parts` as they come, so that memory follows bytes received
   * rather than lengths announced.
   */
  whole: Uint8Array | undefined;
  /** Received pieces of the message in progress, when it has no `whole`. */
  parts: Uint8Array[];
  receivedBytes: number;
}

/** A chunk header, parsed. `timestampFieldMs` is the 24-bit field or the extended one (absent in type 3). */
interface ChunkHeader {
  sizeBytes: number;
  fmt: number;
  chunkStreamId: number;
  timestampFieldMs: number | undefined;
  lengthBytes: number;
  typeId: number;
  streamId: number;
  extended: boolean;
}

/**
 * Reassembles RTMP messages from the chunk stream. `push` bytes as they arrive, then `read` until it returns
 * undefined. Malformed input throws `RtmpProtocolError`; the reader is then dead and throws it again.
 */
export class ChunkReader {
  readonly #maxMessageSizeBytes: number;
  readonly #maxPendingBytes: number;
  readonly #streams = new Map<number, ChunkStreamState>();
  #chunkSizeBytes = DEFAULT_CHUNK_SIZE_BYTES;
  /** Unread input and the read position in it. */
  #input: Uint8Array = new Uint8Array(0);
  #offset = 0;
  /** The start of a header split across pushes (fewer than 18 bytes). */
  #headerStart: Uint8Array = NO_BYTES;
  /** The chunk whose data is being read, and how many of its data bytes are still to come. */
  #body: { stream: ChunkStreamState; remainingBytes: number } | undefined;
  #pendingBytes = 0;
  #failure: RtmpProtocolError | undefined;

  constructor(options: ChunkReaderOptions = {}) {
    this.#maxMessageSizeBytes = Math.min(options.maxMessageSizeBytes ?? MAX_MESSAGE_SIZE_BYTES, MAX_MESSAGE_SIZE_BYTES);
    this.#maxPendingBytes = options.maxPendingBytes ?? 2 * this.#maxMessageSizeBytes;
  }

  /** The peer's current chunk size in bytes. */
  get chunkSizeBytes(): number {
    return this.#chunkSizeBytes;
  }

  /** Bytes held in partly received messages. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Bytes received of a message or chunk header not yet complete: what a peer leaving now would cut off. */
  get incompleteBytes(): number {
    return this.#pendingBytes + this.#headerStart.length + (this.#input.length - this.#offset);
  }

  /** Queues `bytes`, which the reader then owns: the messages it hands out may be views of them. */
  push(bytes: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#offset >= this.#input.length) {
      this.#input = bytes;
    } else {
      const rest = this.#input.subarray(this.#offset);
      const joined = new Uint8Array(rest.length + bytes.length);
      joined.set(rest);
      joined.set(bytes, rest.length);
      this.#input = joined;
    }
    this.#offset = 0;
  }

  /** The next whole message, or undefined when more bytes are needed. Throws `RtmpProtocolError`. */
  read(): RtmpMessage | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      return this.#read();
    } catch (error) {
      if (error instanceof RtmpProtocolError) this.#failure = error;
      throw error;
    }
  }

  /** Pushes `bytes` and reads every message they complete: a shorthand for tests and simple callers. */
  readAll(bytes: Uint8Array): RtmpMessage[] {
    this.push(bytes);
    const messages: RtmpMessage[] = [];
    for (let message = this.read(); message !== undefined; message = this.read()) messages.push(message);
    return messages;
  }

  #read(): RtmpMessage | undefined {
    for (;;) {
      if (this.#body === undefined) {
        const header = this.#nextHeader();
        if (header === undefined) return undefined;
        const stream = this.#startChunk(header);
        if (stream.lengthBytes === 0) return this.#complete(stream); // an empty message has no chunk data
        continue;
      }
      const available = this.#input.length - this.#offset;
      if (available === 0) return undefined;
      const { stream } = this.#body;
      const sizeBytes = Math.min(available, this.#body.remainingBytes);
      if (this.#pendingBytes + sizeBytes > this.#maxPendingBytes) {
        fail(`partly received messages would hold more than ${this.#maxPendingBytes} bytes`);
      }
      const chunk = this.#input.subarray(this.#offset, this.#offset + sizeBytes);
      if (stream.receivedBytes === 0 && sizeBytes === stream.lengthBytes) {
        // One chunk holds the whole message (audio frames, small video frames): a view, not a copy.
        stream.whole = chunk;
      } else if (stream.receivedBytes === 0 && available >= stream.lengthBytes) {
        stream.whole = new Uint8Array(stream.lengthBytes);
        stream.whole.set(chunk);
      } else if (stream.whole !== undefined) {
        stream.whole.set(chunk, stream.receivedBytes);
      } else {
        stream.parts.push(chunk.slice());
      }
      stream.receivedBytes += sizeBytes;
      this.#pendingBytes += sizeBytes;
      this.#offset += sizeBytes;
      this.#body.remainingBytes -= sizeBytes;
      if (this.#body.remainingBytes > 0) return undefined;
      this.#body = undefined;
      if (stream.receivedBytes === stream.lengthBytes) return this.#complete(stream);
    }
  }

  /** Parses the next chunk header from the split-off start and the input, or keeps the bytes and waits. */
  #nextHeader(): ChunkHeader | undefined {
    const startBytes = this.#headerStart.length;
    if (this.#offset >= this.#input.length) return undefined;
    if (startBytes === 0) {
      const header = this.#parseHeader(this.#input, this.#offset);
      if (header !== undefined) {
        this.#offset += header.sizeBytes;
        return header;
      }
    }
    const available = this.#input.subarray(this.#offset, this.#offset + MAX_HEADER_BYTES - startBytes);
    const head = new Uint8Array(startBytes + available.length);
    head.set(this.#headerStart);
    head.set(available, startBytes);
    const header = this.#parseHeader(head, 0);
    if (header === undefined) {
      // Incomplete: `head` holds every byte there is (a complete header is at most 18 bytes).
      this.#headerStart = head;
      this.#offset += available.length;
      return undefined;
    }
    this.#offset += header.sizeBytes - startBytes;
    this.#headerStart = NO_BYTES;
    return header;
  }

  /** The chunk header at `bytes[start]`, or undefined when `bytes` ends before it does. */
  #parseHeader(bytes: Uint8Array, start: number): ChunkHeader | undefined {
    const availableBytes = bytes.length - start;
    const fmt = bytes[start]! >> 6;
    let chunkStreamId = bytes[start]! & 0x3f;
    let pos = start + 1;
    if (chunkStreamId === 0) {
      if (availableBytes < 2) return undefined;
      chunkStreamId = 64 + bytes[start + 1]!;
      pos = start + 2;
    } else if (chunkStreamId === 1) {
      if (availableBytes < 3) return undefined;
      chunkStreamId = 64 + bytes[start + 1]! + 256 * bytes[start + 2]!;
      pos = start + 3;
    }
    const messageHeaderBytes = MESSAGE_HEADER_BYTES[fmt as 0 | 1 | 2 | 3];
    if (bytes.length < pos + messageHeaderBytes) return undefined;
    const previous = this.#streams.get(chunkStreamId);
    if (fmt !== 0 && previous === undefined) {
      fail(`chunk stream ${chunkStreamId} starts with a type ${fmt} header; its first header must be type 0`);
    }
    const timestamp24 = fmt <= 2 ? u24(bytes, pos) : undefined;
    const extended = timestamp24 === undefined ? previous!.extended : timestamp24 === EXTENDED_TIMESTAMP_MARK;
    const end = pos + messageHeaderBytes + (extended ? 4 : 0);
    if (bytes.length < end) return undefined;
    const extendedTimestamp = extended ? u24(bytes, pos + messageHeaderBytes) * 256 + bytes[end - 1]! : undefined;
    return {
      sizeBytes: end - start,
      fmt,
      chunkStreamId,
      timestampFieldMs: extendedTimestamp ?? timestamp24,
      lengthBytes: fmt <= 1 ? u24(bytes, pos + 3) : previous?.lengthBytes ?? 0,
      typeId: fmt <= 1 ? bytes[pos + 6]! : previous?.typeId ?? 0,
      // Little-endian (§5.3.1.2.1).
      streamId: fmt === 0
        ? (bytes[pos + 7]! | bytes[pos + 8]! << 8 | bytes[pos + 9]! << 16 | bytes[pos + 10]! << 24) >>> 0
        : previous?.streamId ?? 0,
      extended,
    };
  }

  /** Applies a header to its chunk stream's state and sets up the chunk's data. */
  #startChunk(header: ChunkHeader): ChunkStreamState {
    const { chunkStreamId, fmt } = header;
    let stream = this.#streams.get(chunkStreamId);
    if (stream === undefined) {
      stream = {
        chunkStreamId,
        typeId: 0,
        streamId: 0,
        lengthBytes: 0,
        timestampMs: 0,
        timestampFieldMs: 0,
        extended: false,
        whole: undefined,
        parts: [],
        receivedBytes: 0,
      };
      this.#streams.set(chunkStreamId, stream);
    }
    const inProgress = stream.receivedBytes > 0;
    if (inProgress && fmt !== 3) {
      fail(
        `chunk stream ${chunkStreamId}: a type ${fmt} header arrived with ${stream.receivedBytes} of ` +
          `${stream.lengthBytes} bytes of the previous message received; only type 3 may continue a message`,
      );
    }
    if (!inProgress) {
      // A new message: types 0 to 2 give (part of) the header, type 3 repeats the last one with its delta.
      const field = header.timestampFieldMs ?? stream.timestampFieldMs;
      stream.timestampMs = fmt === 0 ? field : (stream.timestampMs + field) >>> 0;
      stream.timestampFieldMs = field;
      stream.extended = header.extended;
      stream.lengthBytes = header.lengthBytes;
      stream.typeId = header.typeId;
      stream.streamId = header.streamId;
      if (stream.lengthBytes > this.#maxMessageSizeBytes) {
        fail(
          `chunk stream ${chunkStreamId}: message of ${stream.lengthBytes} bytes (type ${stream.typeId}) is larger ` +
            `than the ${this.#maxMessageSizeBytes}-byte limit`,
        );
      }
    }
    // A type 3 continuation repeats the extended timestamp (already read and skipped) and changes nothing else.
    const remainingBytes = Math.min(this.#chunkSizeBytes, stream.lengthBytes - stream.receivedBytes);
    if (remainingBytes > 0) this.#body = { stream, remainingBytes };
    return stream;
  }

  /** Hands out the finished message of `stream`, applying Set Chunk Size and Abort on the way. */
  #complete(stream: ChunkStreamState): RtmpMessage {
    const payload = stream.whole ??
      (stream.parts.length === 1 ? stream.parts[0]! : joinParts(stream.parts, stream.lengthBytes));
    this.#pendingBytes -= stream.receivedBytes;
    stream.whole = undefined;
    if (stream.parts.length > 0) stream.parts = [];
    stream.receivedBytes = 0;
    const message: RtmpMessage = {
      chunkStreamId: stream.chunkStreamId,
      typeId: stream.typeId,
      streamId: stream.streamId,
      timestampMs: stream.timestampMs,
      payload,
    };
    if (message.typeId === MessageType.SetChunkSize) this.#chunkSizeBytes = parseSetChunkSize(payload);
    if (message.typeId === MessageType.Abort) this.#abort(payload);
    return message;
  }

  /** Abort Message (§5.4.2): drops the partly received message of the named chunk stream. */
  #abort(payload: Uint8Array): void {
    if (payload.length < 4) fail(`Abort message of ${payload.length} bytes, expected 4`);
    const chunkStreamId = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
    const stream = this.#streams.get(chunkStreamId);
    if (stream === undefined) return;
    this.#pendingBytes -= stream.receivedBytes;
    stream.whole = undefined;
    stream.parts = [];
    stream.receivedBytes = 0;
  }
}

/** The chunk size a Set Chunk Size payload announces (§5.4.1): 1 to 2^31 - 1. */
export function parseSetChunkSize(payload: Uint8Array): number {
  if (payload.length < 4) fail(`Set Chunk Size message of ${payload.length} bytes, expected 4`);
  const sizeBytes = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
  if (sizeBytes < 1 || sizeBytes > MAX_CHUNK_SIZE_BYTES) {
    fail(`Set Chunk Size of ${sizeBytes} bytes; it must be 1 to ${MAX_CHUNK_SIZE_BYTES}`);
  }
  return sizeBytes;
}

/** Cuts messages into chunks: a type 0 header, then type 3 headers, each chunk at most the chunk size. */
export class ChunkWriter {
  #chunkSizeBytes = DEFAULT_CHUNK_SIZE_BYTES;

  /** Our current outgoing chunk size in bytes. */
  get chunkSizeBytes(): number {
    return this.#chunkSizeBytes;
  }

  /** Uses `sizeBytes` for every later chunk; send the Set Chunk Size message first, with the old size. */
  setChunkSize(sizeBytes: number): void {
    if (!Number.isInteger(sizeBytes) || sizeBytes < 1 || sizeBytes > MAX_CHUNK_SIZE_BYTES) {
      throw new RangeError(`chunk size must be 1 to ${MAX_CHUNK_SIZE_BYTES} bytes, got ${sizeBytes}`);
    }
    this.#chunkSizeBytes = sizeBytes;
  }

  /** The chunks of `message`; a timestamp of 0xFFFFFF or more goes in an extended timestamp in every chunk. */
  write(message: RtmpMessage): Uint8Array {
    const { chunkStreamId, typeId, streamId, payload } = message;
    if (!Number.isInteger(chunkStreamId) || chunkStreamId < 2 || chunkStreamId > MAX_CHUNK_STREAM_ID) {
      throw new RangeError(`chunk stream id must be 2 to ${MAX_CHUNK_STREAM_ID}, got ${chunkStreamId}`);
    }
    if (payload.length > MAX_MESSAGE_SIZE_BYTES) {
      throw new RangeError(`message of ${payload.length} bytes exceeds the ${MAX_MESSAGE_SIZE_BYTES}-byte limit`);
    }
    const timestampMs = message.timestampMs >>> 0;
    const extended = timestampMs >= EXTENDED_TIMESTAMP_MARK;
    const first = basicHeader(0, chunkStreamId);
    const next = basicHeader(3, chunkStreamId);
    const extendedBytes = extended ? 4 : 0;
    const chunkCount = Math.max(1, Math.ceil(payload.length / this.#chunkSizeBytes));
    const out = new Uint8Array(
      first.length + 11 + (chunkCount - 1) * next.length + chunkCount * extendedBytes + payload.length,
    );
    const view = new DataView(out.buffer);
    out.set(first);
    let pos = first.length;
    const timestamp24 = extended ? EXTENDED_TIMESTAMP_MARK : timestampMs;
    view.setUint16(pos, timestamp24 >>> 8); // timestamp, 24 bits
    out[pos + 2] = timestamp24 & 0xff;
    view.setUint16(pos + 3, payload.length >>> 8); // message length, 24 bits
    out[pos + 5] = payload.length & 0xff;
    out[pos + 6] = typeId; // message type id
    view.setUint32(pos + 7, streamId, true); // message stream id, little-endian
    pos += 11;
    for (let start = 0, chunk = 0; chunk < chunkCount; chunk++, start += this.#chunkSizeBytes) {
      if (chunk > 0) {
        out.set(next, pos);
        pos += next.length;
      }
      if (extended) {
        view.setUint32(pos, timestampMs);
        pos += 4;
      }
      const data = payload.subarray(start, start + this.#chunkSizeBytes);
      out.set(data, pos);
      pos += data.length;
    }
    return out;
  }
}

/** The 1-, 2- or 3-byte basic header of chunk type `fmt` on `chunkStreamId` (§5.3.1.1). */
export function basicHeader(fmt: number, chunkStreamId: number): Uint8Array {
  if (chunkStreamId < 64) return Uint8Array.of((fmt << 6) | chunkStreamId);
  if (chunkStreamId < 64 + 256) return Uint8Array.of(fmt << 6, chunkStreamId - 64);
  const rest = chunkStreamId - 64;
  return Uint8Array.of((fmt << 6) | 1, rest & 0xff, rest >> 8);
}

function joinParts(parts: readonly Uint8Array[], lengthBytes: number): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The big-endian 24-bit number at `bytes[pos]`. */
function u24(bytes: Uint8Array, pos: number): number {
  return bytes[pos]! << 16 | bytes[pos + 1]! << 8 | bytes[pos + 2]!;
}

function fail(reason: string): never {
  throw new RtmpProtocolError(`invalid RTMP chunk stream: ${reason}`);
}
