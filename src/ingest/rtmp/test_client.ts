/**
 * Test-only: the client half of an RTMP conversation as pure bytes, for the session tests and the raw-socket
 * end-to-end test. It writes the handshake, commands and media with its own chunk size and reads the server's
 * replies (commands decoded). Production code never imports it.
 */

import { type Amf0Value, decodeAmf0, encodeAmf0 } from "./amf0.ts";
import { ChunkReader, ChunkWriter } from "./chunk_stream.ts";
import { HANDSHAKE_PACKET_BYTES } from "./handshake.ts";
import { MessageType, type RtmpMessage, u32Payload } from "./messages.ts";

/** A server message as the client sees it; `command` is set for AMF0 commands. */
export interface ServerMessage extends RtmpMessage {
  command?: { name: string; values: Amf0Value[] };
}

/** A scripted RTMP client: every method returns the bytes to send. */
export class ScriptedClient {
  readonly #writer = new ChunkWriter();
  readonly #reader = new ChunkReader();
  /** Bytes of S0+S1+S2 still to skip before the server's chunk stream starts. */
  #handshakeLeftBytes = 1 + 2 * HANDSHAKE_PACKET_BYTES;

  /** C0 (version 3) + C1. */
  c0c1(): Uint8Array {
    const out = new Uint8Array(1 + HANDSHAKE_PACKET_BYTES);
    out[0] = 3;
    for (let i = 9; i < out.length; i++) out[i] = (i * 31) & 0xff;
    return out;
  }

  /** C2 (not checked by the server: zeros). */
  c2(): Uint8Array {
    return new Uint8Array(HANDSHAKE_PACKET_BYTES);
  }

  /** An AMF0 command (type 20) on `streamId`, or AMF3-wrapped (type 17, leading 0 byte) with `amf3`. */
  command(name: string, transactionId: number, values: Amf0Value[], opts: { streamId?: number; amf3?: boolean } = {}) {
    const body = encodeAmf0(name, transactionId, ...values);
    const payload = opts.amf3 ? Uint8Array.of(0, ...body) : body;
    const typeId = opts.amf3 ? MessageType.CommandAmf3 : MessageType.CommandAmf0;
    return this.message(typeId, opts.streamId ?? 0, 0, payload, 3);
  }

  /** Any message; chunk stream 4 unless given. */
  message(typeId: number, streamId: number, timestampMs: number, payload: Uint8Array, chunkStreamId = 4): Uint8Array {
    return this.#writer.write({ chunkStreamId, typeId, streamId, timestampMs, payload });
  }

  /** Set Chunk Size, after which this client writes with `sizeBytes`. */
  setChunkSize(sizeBytes: number): Uint8Array {
    const bytes = this.message(MessageType.SetChunkSize, 0, 0, u32Payload(sizeBytes), 2);
    this.#writer.setChunkSize(sizeBytes);
    return bytes;
  }

  /** The server's messages in `bytes` (the handshake reply is skipped). */
  receive(bytes: Uint8Array): ServerMessage[] {
    const skip = Math.min(this.#handshakeLeftBytes, bytes.length);
    this.#handshakeLeftBytes -= skip;
    return this.#reader.readAll(bytes.subarray(skip)).map((message) => {
      if (message.typeId !== MessageType.CommandAmf0) return message;
      const [name, ...values] = decodeAmf0(message.payload);
      return { ...message, command: { name: String(name), values } };
    });
  }
}
