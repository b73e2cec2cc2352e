/**
 * SRTP with libsrtp 2 (Debian's `libsrtp2-1`) through FFI, where it is installed: the same contract as `SrtpContext`'s
 * calls (unprotect: decrypted in place, a view of the plain packet; protect: a new buffer; or an `SrtpFailure`), in C.
 * Unprotecting a 1,100-byte packet in Deno 2.9.6 (srtp_bench.ts, Debian's libsrtp 2.5.0 on NSS): AES-GCM 1.7-1.9 µs
 * and AES-CM 7.6-8.1 µs, against liverec's own 12.3-12.5 and 5.7-10.8 µs, whose HMAC-SHA1 in TypeScript was the
 * largest part of a 1-stream WHIP service's main thread.
 */

import { openNativeLibrary } from "../shared/ffi.ts";
import { srtpProfileSizes } from "./profiles.ts";
import { SRTP_FAILURES, type SrtpFailure } from "./srtp_context.ts";

/** What unprotects a peer's SRTP and SRTCP: liverec's `SrtpContext`, or libsrtp's session. */
export interface SrtpReceiver {
  readonly profile: number;
  unprotectRtp(packet: Uint8Array): Uint8Array | SrtpFailure;
  unprotectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure;
  close(): void;
}

/** What protects the RTP and RTCP sent to a peer: liverec's `SrtpContext`, or libsrtp's session. */
export interface SrtpSender {
  readonly profile: number;
  protectRtp(packet: Uint8Array): Uint8Array | SrtpFailure;
  protectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure;
  close(): void;
}

const LIBSRTP_SYMBOLS = {
  srtp_init: { parameters: [], result: "i32" },
  srtp_get_version: { parameters: [], result: "u32" },
  srtp_crypto_policy_set_from_profile_for_rtp: { parameters: ["buffer", "i32"], result: "i32" },
  srtp_crypto_policy_set_from_profile_for_rtcp: { parameters: ["buffer", "i32"], result: "i32" },
  srtp_create: { parameters: ["buffer", "buffer"], result: "i32" },
  srtp_unprotect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_unprotect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_protect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_protect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_dealloc: { parameters: ["pointer"], result: "i32" },
} as const;

/**
 * `srtp_policy_t` of libsrtp 2.3 to 2.x (srtp2/srtp.h) on a 64-bit Linux: byte offsets of the fields set here. `ssrc`
 * is `{type, value}`, then two 24-byte crypto policies (RTP, RTCP), then pointers and longs.
 */
const POLICY = {
  bytes: 128,
  ssrcType: 0,
  rtp: 8,
  rtcp: 32,
  key: 56,
  windowSize: 88,
} as const;
/** `ssrc_any_inbound`, `ssrc_any_outbound`: a template for every SSRC received, or sent. */
const SSRC_ANY_INBOUND = 2;
const SSRC_ANY_OUTBOUND = 3;
/** What protecting may add after a packet (`SRTP_MAX_TRAILER_LEN`: the longest tag, 16, and an MKI of up to 128). */
const MAX_TRAILER_BYTES = 144;
/** As `SrtpContext`'s: RTX and reordering come within 1024 packets. */
const REPLAY_WINDOW_PACKETS = 1024;

/** `srtp_err_status_t` values that have a reason of their own. */
const STATUS_FAILURES: ReadonlyMap<number, SrtpFailure> = new Map([
  [2, SRTP_FAILURES.malformed], // bad_param: too short, or not a valid header
  [7, SRTP_FAILURES.authFailed],
  [9, SRTP_FAILURES.replayed],
  [10, SRTP_FAILURES.tooOld],
]);

/** libsrtp, loaded and initialized: `receiver` and `sender` make a session for one direction's master key and salt. */
export interface Libsrtp {
  /** E.g. "2.5.0". */
  readonly version: string;
  receiver(profile: number, masterKey: Uint8Array, masterSalt: Uint8Array): SrtpReceiver | SrtpFailure;
  sender(profile: number, masterKey: Uint8Array, masterSalt: Uint8Array): SrtpSender | SrtpFailure;
}

type Library = NonNullable<Awaited<ReturnType<typeof openNativeLibrary<typeof LIBSRTP_SYMBOLS>>>>;

/** The file of libsrtp 2 that the dynamic linker finds where Debian's `libsrtp2-1` is installed. */
export const LIBSRTP_FILE = "libsrtp2.so.1";

const opened = new Map<string, Promise<Libsrtp | undefined>>();

/** libsrtp 2 from `path`, loaded once; undefined where it is not installed (or cannot be loaded or initialized). */
export function openLibsrtp(path = LIBSRTP_FILE): Promise<Libsrtp | undefined> {
  let libsrtp = opened.get(path);
  if (libsrtp === undefined) opened.set(path, libsrtp = loadLibsrtp(path));
  return libsrtp;
}

async function loadLibsrtp(path: string): Promise<Libsrtp | undefined> {
  const library = await openNativeLibrary(path, LIBSRTP_SYMBOLS);
  if (library === undefined || library.symbols.srtp_init() !== 0) return undefined;
  const packed = library.symbols.srtp_get_version();
  const version = `${packed >>> 24}.${(packed >>> 16) & 0xff}.${packed & 0xffff}`;
  return {
    version,
    receiver: (profile, masterKey, masterSalt) =>
      createSession(library, SSRC_ANY_INBOUND, profile, masterKey, masterSalt),
    sender: (profile, masterKey, masterSalt) =>
      createSession(library, SSRC_ANY_OUTBOUND, profile, masterKey, masterSalt),
  };
}

/** A libsrtp session for every SSRC of one direction (`ssrcType`). */
function createSession(
  library: Library,
  ssrcType: number,
  profile: number,
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
): LibsrtpSession | SrtpFailure {
  const sizes = srtpProfileSizes(profile);
  if (sizes === undefined) return SRTP_FAILURES.unknownProfile;
  if (masterKey.length !== sizes.masterKeyBytes || masterSalt.length !== sizes.masterSaltBytes) {
    return SRTP_FAILURES.badKeyLength;
  }
  const { symbols } = library;
  // Its address goes into the policy: memory of its own, which a collection does not move (V8 may keep a small typed
  // array's bytes inside its heap).
  const key = new Uint8Array(new ArrayBuffer(masterKey.length + masterSalt.length));
  key.set(masterKey);
  key.set(masterSalt, masterKey.length);
  const policy = new Uint8Array(POLICY.bytes);
  const fields = new DataView(policy.buffer);
  fields.setInt32(POLICY.ssrcType, ssrcType, true);
  const rtpSet = symbols.srtp_crypto_policy_set_from_profile_for_rtp(policy.subarray(POLICY.rtp), profile);
  const rtcpSet = symbols.srtp_crypto_policy_set_from_profile_for_rtcp(policy.subarray(POLICY.rtcp), profile);
  if (rtpSet !== 0 || rtcpSet !== 0) return SRTP_FAILURES.unknownProfile;
  fields.setBigUint64(POLICY.key, library.address(key), true);
  fields.setBigUint64(POLICY.windowSize, BigInt(REPLAY_WINDOW_PACKETS), true);
  const session = new BigUint64Array(1);
  const status = symbols.srtp_create(new Uint8Array(session.buffer), policy);
  if (status !== 0) throw new Error(`libsrtp: srtp_create failed with status ${status}`);
  return new LibsrtpSession(symbols, profile, library.pointer(session[0]!));
}

/** One libsrtp session: it unprotects a peer's packets (made with `ssrc_any_inbound`) or protects those sent to it. */
class LibsrtpSession implements SrtpReceiver, SrtpSender {
  readonly profile: number;
  readonly #symbols: Library["symbols"];
  #session: Deno.PointerValue | undefined;
  /** The `int *len` of each call: the packet's length in, the plain packet's out. */
  readonly #length = new Int32Array(1);
  readonly #lengthBytes = new Uint8Array(this.#length.buffer);

  constructor(symbols: Library["symbols"], profile: number, session: Deno.PointerValue) {
    this.#symbols = symbols;
    this.profile = profile;
    this.#session = session;
  }

  unprotectRtp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#length[0] = packet.length;
    return this.#result(packet, this.#symbols.srtp_unprotect(this.#open(), packet, this.#lengthBytes));
  }

  unprotectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#length[0] = packet.length;
    return this.#result(packet, this.#symbols.srtp_unprotect_rtcp(this.#open(), packet, this.#lengthBytes));
  }

  protectRtp(packet: Uint8Array): Uint8Array | SrtpFailure {
    const out = this.#withRoom(packet);
    return this.#result(out, this.#symbols.srtp_protect(this.#open(), out, this.#lengthBytes));
  }

  protectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure {
    const out = this.#withRoom(packet);
    return this.#result(out, this.#symbols.srtp_protect_rtcp(this.#open(), out, this.#lengthBytes));
  }

  close(): void {
    if (this.#session === undefined) return;
    this.#symbols.srtp_dealloc(this.#session);
    this.#session = undefined;
  }

  #open(): Deno.PointerValue {
    if (this.#session === undefined) throw new Error("libsrtp session used after close()");
    return this.#session;
  }

  /** A copy of `packet` with room for what protecting appends; the length to pass set. */
  #withRoom(packet: Uint8Array): Uint8Array {
    const out = new Uint8Array(packet.length + MAX_TRAILER_BYTES);
    out.set(packet);
    this.#length[0] = packet.length;
    return out;
  }

  #result(packet: Uint8Array, status: number): Uint8Array | SrtpFailure {
    if (status === 0) return packet.subarray(0, this.#length[0]);
    return STATUS_FAILURES.get(status) ?? Object.freeze({ reason: "malformed", message: `libsrtp status ${status}` });
  }
}
