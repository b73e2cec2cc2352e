/**
 * SrtpContext on known packets: libSRTP's AES-CM-128/HMAC-SHA1-80 validation packets (srtp_validate, keyed with RFC
 * 3711 B.3's master key), RFC 7714 §16.1.1 and §17 with their session keys, and every failure reason.
 */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { bin, toHex } from "../shared/testing.ts";
import { deriveSessionKey, LABEL_SRTCP_AUTHENTICATION } from "./key_derivation.ts";
import { createSrtpContext, SrtpContext, type SrtpFailure } from "./srtp_context.ts";
import {
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_32,
  SRTP_AES128_CM_HMAC_SHA1_80,
  srtpProfileSizes,
} from "./profiles.ts";

const MASTER_KEY = bin("e1f97a0d3e018be0d64fa32c06de4139");
const MASTER_SALT = bin("0ec675ad498afeebb6960b3aabe6");
const AB_16 = "abababababababababababababababab";
const LIBSRTP_RTP = bin("800f1234 decafbad cafebabe" + AB_16);
const LIBSRTP_SRTP = bin("800f1234 decafbad cafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
const LIBSRTP_RTCP = bin("81c8000b cafebabe" + AB_16);
const LIBSRTP_SRTCP = bin("81c8000b cafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");

const GCM_KEY = bin("000102030405060708090a0b0c0d0e0f");
const GCM_SALT = bin("517569642070726f2071756f");
const RFC7714_RTP = bin(
  "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573",
);
const RFC7714_SRTP = bin(
  "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833" +
    "899d7f27 beb16a91 52cf765e e4390cce",
);
const RFC7714_RTCP = bin(
  "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef",
);
const RFC7714_SRTCP = bin(
  "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded" +
    "0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4",
);
const RFC7714_SRTCP_UNENCRYPTED = bin(toHex(RFC7714_RTCP) + "841dd9683dd78ec92ae58790125f62b3 000005d4");

function context(profile: number, key = MASTER_KEY, salt = MASTER_SALT): SrtpContext {
  const created = createSrtpContext(profile, key, salt);
  if (!(created instanceof SrtpContext)) throw new Error(created.message);
  return created;
}

/** A context of RFC 7714's session keys, used for SRTP and SRTCP alike as in its test vectors. */
function rfc7714Context(): SrtpContext {
  const keys = { encryptionKey: GCM_KEY, salt: GCM_SALT, authKey: new Uint8Array(0) };
  return new SrtpContext(srtpProfileSizes(SRTP_AEAD_AES_128_GCM)!, keys, keys);
}

function plain(result: Uint8Array | SrtpFailure): string {
  if (!(result instanceof Uint8Array)) throw new Error(`refused: ${result.reason}`);
  return toHex(result);
}

function reason(result: Uint8Array | SrtpFailure): string {
  return result instanceof Uint8Array ? "accepted" : result.reason;
}

Deno.test("unprotectRtp and unprotectRtcp decrypt libSRTP's validation packets in place", () => {
  const srtp = context(SRTP_AES128_CM_HMAC_SHA1_80);
  const packet = LIBSRTP_SRTP.slice();
  const rtp = srtp.unprotectRtp(packet);
  assert.equal(plain(rtp), toHex(LIBSRTP_RTP));
  assert.equal((rtp as Uint8Array).buffer, packet.buffer);
  assert.equal(toHex(packet.subarray(0, LIBSRTP_RTP.length)), toHex(LIBSRTP_RTP));
  assert.equal(plain(srtp.unprotectRtcp(LIBSRTP_SRTCP.slice())), toHex(LIBSRTP_RTCP));
  srtp.close();
});

Deno.test("unprotectRtcp takes an AES-CM SRTCP packet with the E flag clear as authenticated plaintext", () => {
  const authKey = deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTCP_AUTHENTICATION, 20);
  const authenticated = bin(toHex(LIBSRTP_RTCP) + "00000007");
  const tag = createHmac("sha1", authKey).update(authenticated).digest().subarray(0, 10);
  const srtcp = bin(toHex(authenticated) + toHex(tag));
  const srtp = context(SRTP_AES128_CM_HMAC_SHA1_80);
  const tampered = srtcp.slice();
  tampered[9]! ^= 1;
  assert.equal(reason(srtp.unprotectRtcp(tampered)), "authFailed");
  assert.equal(plain(srtp.unprotectRtcp(srtcp)), toHex(LIBSRTP_RTCP));
  srtp.close();
});

Deno.test("protectRtcp numbers SRTCP packets from 0 per SSRC and gives libSRTP's packet at index 1", () => {
  const srtp = context(SRTP_AES128_CM_HMAC_SHA1_80);
  const first = srtp.protectRtcp(LIBSRTP_RTCP);
  assert.equal(plain(first).slice(48, 56), "80000000");
  const otherSsrc = bin("81c90001 00000001");
  assert.equal(plain(srtp.protectRtcp(otherSsrc)).slice(16, 24), "80000000");
  assert.equal(plain(srtp.protectRtcp(LIBSRTP_RTCP)), toHex(LIBSRTP_SRTCP));
  assert.equal(toHex(LIBSRTP_RTCP), "81c8000bcafebabe" + AB_16, "input unchanged");
  srtp.close();
});

Deno.test("the 32-bit tag profile keeps 80-bit SRTCP tags (RFC 5764 §4.1.2)", () => {
  const srtp = context(SRTP_AES128_CM_HMAC_SHA1_32);
  assert.equal(plain(srtp.unprotectRtcp(LIBSRTP_SRTCP.slice())), toHex(LIBSRTP_RTCP));
  // The SRTP tag is the first 4 bytes of the 80-bit one.
  const srtp32 = LIBSRTP_SRTP.slice(0, LIBSRTP_SRTP.length - 6);
  assert.equal(plain(srtp.unprotectRtp(srtp32)), toHex(LIBSRTP_RTP));
  srtp.close();
});

Deno.test("GCM contexts decrypt RFC 7714 §16.1.1 and §17.1/§17.3 packets and protect §17.1's at index 0x5d4", () => {
  assert.equal(plain(rfc7714Context().unprotectRtp(RFC7714_SRTP.slice())), toHex(RFC7714_RTP));
  assert.equal(plain(rfc7714Context().unprotectRtcp(RFC7714_SRTCP.slice())), toHex(RFC7714_RTCP));
  assert.equal(plain(rfc7714Context().unprotectRtcp(RFC7714_SRTCP_UNENCRYPTED.slice())), toHex(RFC7714_RTCP));
  const sender = rfc7714Context();
  for (let index = 0; index < 0x5d4; index++) sender.protectRtcp(RFC7714_RTCP);
  assert.equal(plain(sender.protectRtcp(RFC7714_RTCP)), toHex(RFC7714_SRTCP));
});

Deno.test("createSrtpContext refuses unknown profiles and key or salt lengths that do not fit the profile", () => {
  assert.equal(reason(createSrtpContext(0x0003, MASTER_KEY, MASTER_SALT) as SrtpFailure), "unknownProfile");
  assert.equal(reason(createSrtpContext(0x0008, MASTER_KEY, MASTER_SALT) as SrtpFailure), "unknownProfile");
  const refused = [
    createSrtpContext(SRTP_AES128_CM_HMAC_SHA1_80, MASTER_KEY.subarray(1), MASTER_SALT),
    createSrtpContext(SRTP_AES128_CM_HMAC_SHA1_80, MASTER_KEY, MASTER_SALT.subarray(2)),
    createSrtpContext(SRTP_AEAD_AES_128_GCM, MASTER_KEY, MASTER_SALT),
  ];
  for (const result of refused) assert.equal(reason(result as SrtpFailure), "badKeyLength");
  const gcm = context(SRTP_AEAD_AES_128_GCM, MASTER_KEY, MASTER_SALT.subarray(0, 12));
  assert.equal(gcm.profile, SRTP_AEAD_AES_128_GCM);
  gcm.close();
});

Deno.test("packets too short for the profile are refused as tooShort", () => {
  const cm = context(SRTP_AES128_CM_HMAC_SHA1_80);
  assert.equal(reason(cm.unprotectRtp(LIBSRTP_SRTP.subarray(0, 21))), "tooShort");
  assert.equal(reason(cm.unprotectRtp(new Uint8Array(0))), "tooShort");
  assert.equal(reason(cm.unprotectRtcp(LIBSRTP_SRTCP.subarray(0, 21))), "tooShort");
  assert.equal(reason(cm.protectRtcp(LIBSRTP_RTCP.subarray(0, 7))), "tooShort");
  const gcm = rfc7714Context();
  assert.equal(reason(gcm.unprotectRtp(RFC7714_SRTP.subarray(0, 27))), "tooShort");
  assert.equal(reason(gcm.unprotectRtcp(RFC7714_SRTCP.subarray(0, 27))), "tooShort");
  cm.close();
});

Deno.test("packets that are not version 2 or whose header runs past the payload are refused as malformed", () => {
  const cm = context(SRTP_AES128_CM_HMAC_SHA1_80);
  const version1 = LIBSRTP_SRTP.slice();
  version1[0] = 0x40;
  assert.equal(reason(cm.unprotectRtp(version1)), "malformed");
  const manyCsrcs = LIBSRTP_SRTP.slice();
  manyCsrcs[0] = 0x8f;
  assert.equal(reason(cm.unprotectRtp(manyCsrcs)), "malformed");
  const longExtension = LIBSRTP_SRTP.slice();
  longExtension[0] = 0x90;
  longExtension.set(bin("bede 0010"), 12);
  assert.equal(reason(cm.unprotectRtp(longExtension)), "malformed");
  const rtcpVersion0 = LIBSRTP_SRTCP.slice();
  rtcpVersion0[0] = 0x01;
  assert.equal(reason(cm.unprotectRtcp(rtcpVersion0)), "malformed");
  assert.equal(reason(cm.protectRtcp(bin("01c80001 00000001"))), "malformed");
  cm.close();
});

Deno.test("a changed byte anywhere is refused as authFailed, leaving packet and context unchanged", () => {
  const cm = context(SRTP_AES128_CM_HMAC_SHA1_80);
  for (const at of [1, 3, 11, 12, 27, 28, 37]) {
    const tampered = LIBSRTP_SRTP.slice();
    tampered[at]! ^= 0x10;
    const before = toHex(tampered);
    assert.equal(reason(cm.unprotectRtp(tampered)), "authFailed", `byte ${at}`);
    assert.equal(toHex(tampered), before);
  }
  for (const at of [0, 5, 8, 23, 24, 27, 28, 37]) {
    const tampered = LIBSRTP_SRTCP.slice();
    tampered[at]! ^= 0x01;
    assert.equal(reason(cm.unprotectRtcp(tampered)), "authFailed", `SRTCP byte ${at}`);
  }
  // Nothing was recorded: the genuine packets still go through.
  assert.equal(plain(cm.unprotectRtp(LIBSRTP_SRTP.slice())), toHex(LIBSRTP_RTP));
  assert.equal(plain(cm.unprotectRtcp(LIBSRTP_SRTCP.slice())), toHex(LIBSRTP_RTCP));
  const gcm = rfc7714Context();
  const tampered = RFC7714_SRTP.slice();
  tampered[20]! ^= 0x80;
  assert.equal(reason(gcm.unprotectRtp(tampered)), "authFailed");
  const tamperedRtcp = RFC7714_SRTCP_UNENCRYPTED.slice();
  tamperedRtcp[30]! ^= 0x80;
  assert.equal(reason(gcm.unprotectRtcp(tamperedRtcp)), "authFailed");
  assert.equal(plain(gcm.unprotectRtp(RFC7714_SRTP.slice())), toHex(RFC7714_RTP));
  cm.close();
});

Deno.test("a packet received twice is refused as replayed, for SRTP and SRTCP", () => {
  const cm = context(SRTP_AES128_CM_HMAC_SHA1_80);
  assert.equal(reason(cm.unprotectRtp(LIBSRTP_SRTP.slice())), "accepted");
  assert.equal(reason(cm.unprotectRtp(LIBSRTP_SRTP.slice())), "replayed");
  assert.equal(reason(cm.unprotectRtcp(LIBSRTP_SRTCP.slice())), "accepted");
  assert.equal(reason(cm.unprotectRtcp(LIBSRTP_SRTCP.slice())), "replayed");
  const gcm = rfc7714Context();
  assert.equal(reason(gcm.unprotectRtcp(RFC7714_SRTCP.slice())), "accepted");
  assert.equal(reason(gcm.unprotectRtcp(RFC7714_SRTCP_UNENCRYPTED.slice())), "replayed");
  cm.close();
});

Deno.test("an SRTCP index more than 1024 behind the highest is refused as tooOld", () => {
  const sender = rfc7714Context();
  const receiver = rfc7714Context();
  const packets = Array.from({ length: 1030 }, () => sender.protectRtcp(RFC7714_RTCP) as Uint8Array);
  assert.equal(reason(receiver.unprotectRtcp(packets[1029]!)), "accepted");
  assert.equal(reason(receiver.unprotectRtcp(packets[5]!)), "tooOld");
  assert.equal(reason(receiver.unprotectRtcp(packets[0]!)), "tooOld");
  assert.equal(reason(receiver.unprotectRtcp(packets[6]!)), "accepted");
});

Deno.test("a closed context throws on use", () => {
  for (const srtp of [context(SRTP_AES128_CM_HMAC_SHA1_80), rfc7714Context()]) {
    srtp.close();
    srtp.close();
    assert.throws(() => srtp.unprotectRtp(LIBSRTP_SRTP.slice()), /after close/);
    assert.throws(() => srtp.unprotectRtcp(LIBSRTP_SRTCP.slice()), /after close/);
    assert.throws(() => srtp.protectRtcp(LIBSRTP_RTCP), /after close/);
    assert.throws(() => srtp.protectRtp(LIBSRTP_SRTP.slice(0, 20)), /after close/);
  }
});
