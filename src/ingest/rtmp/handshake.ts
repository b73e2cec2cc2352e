/**
 * The server side of the plain RTMP handshake (Adobe RTMP spec §5.2): read C0+C1, answer S0+S1+S2 at once with
 * S2 an exact echo of C1 (the "simple" handshake; OBS, FFmpeg and GStreamer publish through it), then read and
 * discard C2. Only version 3 is spoken: RTMPE (6, 8) and non-RTMP first bytes (HTTP, TLS) are refused by name.
 * The digest-based "complex" handshake of Flash players is not implemented: publishers do not require it.
 */

import { RtmpProtocolError } from "./errors.ts";

/** The protocol version byte of C0 and S0: 3, plain RTMP (§5.2.2). */
export const RTMP_VERSION = 3;
/** Size of C1, S1, C2 and S2 (§5.2.3, §5.2.4). */
export const HANDSHAKE_PACKET_BYTES = 1536;

/** What one `push` of handshake bytes produced. */
export interface HandshakeOutput {
  /** Bytes to send the client now (S0+S1+S2 once C0+C1 are in; otherwise empty). */
  output: Uint8Array;
  /** True once C2 has been read: `rest` and everything after it is the chunk stream. */
  done: boolean;
  /** Bytes after C2 that arrived in the same push (only when `done`). */
  rest: Uint8Array;
}

/** Reads C0+C1 then C2 from bytes arriving in any pieces; holds at most 1537 bytes. */
export class ServerHandshake {
  readonly #s1Random: Uint8Array;
  #stage: "c0c1" | "c2" | "done" = "c0c1";
  #pending: Uint8Array = new Uint8Array(0);

  /** `s1Random` fills S1 after its 8-byte time and zero fields: 1528 bytes, from an injected random source. */
  constructor(s1Random: Uint8Array) {
    if (s1Random.length !== HANDSHAKE_PACKET_BYTES - 8) {
      throw new RangeError(`S1 random part must be ${HANDSHAKE_PACKET_BYTES - 8} bytes, got ${s1Random.length}`);
    }
    this.#s1Random = s1Random;
  }

  /** True once C2 has been read. */
  get done(): boolean {
    return this.#stage === "done";
  }

  /** Takes the next client bytes; throws `RtmpProtocolError` for a C0 other than version 3. */
  push(bytes: Uint8Array): HandshakeOutput {
    let input = bytes;
    let output: Uint8Array = new Uint8Array(0);
    if (this.#stage === "c0c1") {
      if (this.#pending.length === 0 && input.length > 0) checkVersion(input[0]!);
      const c0c1 = this.#take(input, 1 + HANDSHAKE_PACKET_BYTES);
      if (c0c1 === undefined) return { output, done: false, rest: new Uint8Array(0) };
      input = c0c1.rest;
      output = serverReply(c0c1.taken.subarray(1), this.#s1Random);
      this.#stage = "c2";
    }
    if (this.#stage === "c2") {
      // C2 should echo S1, but clients differ (complex-handshake clients send a digest): it is not checked.
      const c2 = this.#take(input, HANDSHAKE_PACKET_BYTES);
      if (c2 === undefined) return { output, done: false, rest: new Uint8Array(0) };
      this.#stage = "done";
      return { output, done: true, rest: c2.rest };
    }
    return { output, done: true, rest: input };
  }

  /** Completes a packet of `sizeBytes` from the pending bytes and `input`, or keeps what there is. */
  #take(input: Uint8Array, sizeBytes: number): { taken: Uint8Array; rest: Uint8Array } | undefined {
    const missing = sizeBytes - this.#pending.length;
    if (input.length < missing) {
      const pending = new Uint8Array(this.#pending.length + input.length);
      pending.set(this.#pending);
      pending.set(input, this.#pending.length);
      this.#pending = pending;
      return undefined;
    }
    const taken = new Uint8Array(sizeBytes);
    taken.set(this.#pending);
    taken.set(input.subarray(0, missing), this.#pending.length);
    this.#pending = new Uint8Array(0);
    return { taken, rest: input.subarray(missing) };
  }
}

/** S0 (version 3), S1 (time 0, zero, random) and S2 (C1 echoed) back to back (§5.2.2 to §5.2.4). */
export function serverReply(c1: Uint8Array, s1Random: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 2 * HANDSHAKE_PACKET_BYTES);
  out[0] = RTMP_VERSION; // S0
  // S1: 4-byte time (0: our epoch starts now), 4 zero bytes, then the random part.
  out.set(s1Random, 1 + 8);
  out.set(c1, 1 + HANDSHAKE_PACKET_BYTES); // S2 = C1
  return out;
}

function checkVersion(c0: number): void {
  if (c0 === RTMP_VERSION) return;
  const guess = c0 === 0x06 || c0 === 0x08
    ? "RTMPE (encrypted RTMP) is not supported"
    : c0 === 0x16
    ? "this looks like TLS: rtmps:// is not served here"
    : c0 >= 0x41 && c0 <= 0x5a
    ? "this looks like HTTP or another text protocol"
    : "only version 3 (plain RTMP) is supported";
  throw new RtmpProtocolError(
    `invalid RTMP handshake: C0 version byte 0x${c0.toString(16).padStart(2, "0")}; ${guess}`,
  );
}
