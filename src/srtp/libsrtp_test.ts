/**
 * libsrtp's sessions against liverec's own SRTP: packets liverec's `SrtpContext` protects (with sequence numbers across
 * a rollover) come back byte for byte from libsrtp's receiver in every profile, and those libsrtp's sender protects
 * from an `SrtpContext`; libSRTP's own validation packet decrypts, and each failure answers its reason. Needs libsrtp2
 * (Debian `libsrtp2-1`, installed by scripts/test_deps.sh); skipped, and says so, where it is not installed.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { bin, toHex } from "../shared/testing.ts";
import { openLibsrtp, type SrtpReceiver, type SrtpSender } from "./libsrtp.ts";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_32, SRTP_AES128_CM_HMAC_SHA1_80 } from "./profiles.ts";
import { createSrtpContext, SRTP_FAILURES, SrtpContext, type SrtpFailure } from "./srtp_context.ts";

const libsrtp = await openLibsrtp();
if (libsrtp === undefined) console.warn("libsrtp_test: libsrtp2.so.1 is not installed; these tests are skipped");
const ignore = libsrtp === undefined;

const PROFILES = [
  { name: "AES_CM_128_HMAC_SHA1_80", profile: SRTP_AES128_CM_HMAC_SHA1_80, saltBytes: 14 },
  { name: "AES_CM_128_HMAC_SHA1_32", profile: SRTP_AES128_CM_HMAC_SHA1_32, saltBytes: 14 },
  { name: "AEAD_AES_128_GCM", profile: SRTP_AEAD_AES_128_GCM, saltBytes: 12 },
];

function made<T>(session: T | SrtpFailure): T {
  if (typeof session === "object" && session !== null && "reason" in session) throw new Error(session.message);
  return session as T;
}

function context(profile: number, key: Uint8Array, salt: Uint8Array): SrtpContext {
  const created = createSrtpContext(profile, key, salt);
  if (!(created instanceof SrtpContext)) throw new Error(created.message);
  return created;
}

function sealed(result: Uint8Array | SrtpFailure): Uint8Array {
  if (!(result instanceof Uint8Array)) throw new Error(`refused: ${result.reason}`);
  return result;
}

/** A plain RTP packet: version 2, payload type 96, with a header extension when `extension`. */
function rtp(sequenceNumber: number, ssrc: number, payload: Uint8Array, extension = false): Uint8Array {
  const ext = extension ? bin("bede0001 10ff0000") : new Uint8Array(0);
  const packet = new Uint8Array(12 + ext.length + payload.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, extension ? 0x90 : 0x80);
  view.setUint8(1, 96);
  view.setUint16(2, sequenceNumber);
  view.setUint32(4, sequenceNumber * 3000);
  view.setUint32(8, ssrc);
  packet.set(ext, 12);
  packet.set(payload, 12 + ext.length);
  return packet;
}

/**
 * RTP across a rollover of the sequence number, on two SSRCs (as media and RTX), and RTCP, protected by `send` and
 * unprotected by `receive`: each comes back byte for byte, and protecting leaves its input as it was.
 */
function assertRoundTrips(send: SrtpSender, receive: SrtpReceiver): void {
  try {
    for (let i = 0; i < 300; i++) {
      for (const ssrc of [0x1234, 0xabcd]) {
        const packet = rtp((65_400 + i) % 0x10000, ssrc, randomBytes(100 + i), i % 3 === 0);
        const copy = packet.slice();
        assert.equal(toHex(sealed(receive.unprotectRtp(sealed(send.protectRtp(packet))))), toHex(copy));
        assert.equal(toHex(packet), toHex(copy), "the input is not modified");
      }
    }
    const report = bin("81c90007 00000001 00001234 00000000 00000000 00000000 00000000 00000000");
    for (let i = 0; i < 3; i++) {
      assert.equal(toHex(sealed(receive.unprotectRtcp(sealed(send.protectRtcp(report))))), toHex(report));
    }
  } finally {
    send.close();
    receive.close();
  }
}

for (const { name, profile, saltBytes } of PROFILES) {
  const key = randomBytes(16);
  const salt = randomBytes(saltBytes);
  Deno.test({
    name: `libsrtp: ${name} RTP and RTCP protected by SrtpContext come back byte for byte from libsrtp's receiver`,
    ignore,
    fn: () => assertRoundTrips(context(profile, key, salt), made(libsrtp!.receiver(profile, key, salt))),
  });
  Deno.test({
    name: `libsrtp: ${name} RTP and RTCP protected by libsrtp's sender come back byte for byte from SrtpContext`,
    ignore,
    fn: () => assertRoundTrips(made(libsrtp!.sender(profile, key, salt)), context(profile, key, salt)),
  });
}

Deno.test({
  name: "libsrtp: libSRTP's AES-CM validation packet, keyed with RFC 3711 B.3's master key",
  ignore,
  fn() {
    const receive = made(libsrtp!.receiver(
      SRTP_AES128_CM_HMAC_SHA1_80,
      bin("e1f97a0d3e018be0d64fa32c06de4139"),
      bin("0ec675ad498afeebb6960b3aabe6"),
    ));
    const srtp = bin("800f1234 decafbad cafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
    assert.equal(toHex(sealed(receive.unprotectRtp(srtp))), "800f1234decafbadcafebabe" + "ab".repeat(16));
    receive.close();
  },
});

Deno.test({
  name: "libsrtp: a tampered, replayed, too old or malformed packet answers its reason",
  ignore,
  fn() {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const send = context(SRTP_AES128_CM_HMAC_SHA1_80, key, salt);
    const receive = made(libsrtp!.receiver(SRTP_AES128_CM_HMAC_SHA1_80, key, salt));
    const protect = (sequenceNumber: number) => sealed(send.protectRtp(rtp(sequenceNumber, 0x1234, randomBytes(64))));
    const first = protect(1);
    const copy = first.slice();
    sealed(receive.unprotectRtp(first));
    assert.equal(receive.unprotectRtp(copy), SRTP_FAILURES.replayed);
    const tampered = protect(2);
    tampered[20]! ^= 1;
    assert.equal(receive.unprotectRtp(tampered), SRTP_FAILURES.authFailed);
    const old = protect(3);
    sealed(receive.unprotectRtp(protect(3 + 2_000)));
    assert.equal(receive.unprotectRtp(old), SRTP_FAILURES.tooOld);
    assert.equal(receive.unprotectRtp(bin("800f")), SRTP_FAILURES.malformed);
    receive.close();
    assert.throws(() => receive.unprotectRtp(protect(4)), /after close/);
    send.close();
  },
});

Deno.test({
  name: "libsrtp: an unknown profile or a key of the wrong length is refused",
  ignore,
  fn() {
    assert.equal(libsrtp!.receiver(0x0005, randomBytes(16), randomBytes(14)), SRTP_FAILURES.unknownProfile);
    assert.equal(
      libsrtp!.receiver(SRTP_AEAD_AES_128_GCM, randomBytes(16), randomBytes(14)),
      SRTP_FAILURES.badKeyLength,
    );
    assert.match(libsrtp!.version, /^2\.\d+\.\d+$/);
  },
});
