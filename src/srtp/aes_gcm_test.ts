/**
 * AES-GCM for SRTP/SRTCP: the IVs, encryption and tags of RFC 7714 §16.1 and §17, refused tampering, and tagMatches
 * against node's GCM tags for many header and payload lengths.
 */

import assert from "node:assert/strict";
import { bin, seededRandom, toHex } from "../shared/testing.ts";
import { AesGcmCipher } from "./aes_gcm.ts";

/** RFC 7714 §16-17 give session keys directly: k_e, and k_s "Quid pro quo". */
const KEY = bin("000102030405060708090a0b0c0d0e0f");
const SALT = bin("517569642070726f2071756f");
const RTP_HEADER = bin("8040f17b 8041f8d3 5501a0b2");
const RTP_PAYLOAD = bin("47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573");
const RTP_CIPHERTEXT = bin(
  "f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833",
);
const RTP_TAG = bin("899d7f27 beb16a91 52cf765e e4390cce");
const RTCP_FIRST_8 = bin("81c8000d 4d617273");
const RTCP_REST = bin(
  "4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef",
);
const RTCP_CIPHERTEXT = bin(
  "63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b",
);
const RTCP_TAG = bin("c84aa458 96cf4d2f c5abf872 45d9eade");

Deno.test("rtpIv and rtcpIv match RFC 7714 §16.1.1 and §17.1", () => {
  const cipher = new AesGcmCipher(KEY, SALT);
  assert.equal(toHex(cipher.rtpIv(0x5501a0b2, 0, 0xf17b)), "51753c6580c2726f20718414");
  assert.equal(toHex(cipher.rtcpIv(0x4d617273, 0x5d4)), "517524055203726f207170bb");
  // The E flag is not part of the IV.
  assert.equal(toHex(cipher.rtcpIv(0x4d617273, 0x800005d4)), "517524055203726f207170bb");
});

Deno.test("seal and open an RTP payload as RFC 7714 §16.1.1", () => {
  const cipher = new AesGcmCipher(KEY, SALT);
  const out = new Uint8Array(RTP_PAYLOAD.length + 16);
  cipher.seal(cipher.rtpIv(0x5501a0b2, 0, 0xf17b), RTP_HEADER, RTP_PAYLOAD, out, 0);
  assert.equal(toHex(out), toHex(RTP_CIPHERTEXT) + toHex(RTP_TAG));
  const plaintext = cipher.open(cipher.rtpIv(0x5501a0b2, 0, 0xf17b), RTP_HEADER, RTP_CIPHERTEXT, RTP_TAG);
  assert.equal(toHex(plaintext!), toHex(RTP_PAYLOAD));
});

Deno.test("seal and open an SRTCP packet as RFC 7714 §17.1 (encrypted) and §17.3 (authenticated only)", () => {
  const cipher = new AesGcmCipher(KEY, SALT);
  const aad = bin("81c8000d 4d617273 800005d4");
  const out = new Uint8Array(RTCP_REST.length + 16);
  cipher.seal(cipher.rtcpIv(0x4d617273, 0x5d4), aad, RTCP_REST, out, 0);
  assert.equal(toHex(out), toHex(RTCP_CIPHERTEXT) + toHex(RTCP_TAG));
  assert.equal(toHex(cipher.open(cipher.rtcpIv(0x4d617273, 0x5d4), aad, RTCP_CIPHERTEXT, RTCP_TAG)!), toHex(RTCP_REST));

  const wholeAad = new Uint8Array([...RTCP_FIRST_8, ...RTCP_REST, ...bin("000005d4")]);
  const tagOnly = new Uint8Array(16);
  cipher.seal(cipher.rtcpIv(0x4d617273, 0x5d4), wholeAad, new Uint8Array(0), tagOnly, 0);
  assert.equal(toHex(tagOnly), "841dd9683dd78ec92ae58790125f62b3");
  const empty = cipher.open(cipher.rtcpIv(0x4d617273, 0x5d4), wholeAad, new Uint8Array(0), tagOnly);
  assert.equal(empty?.length, 0);
});

Deno.test("open refuses a changed ciphertext, associated data or tag, and a wrong IV", () => {
  const cipher = new AesGcmCipher(KEY, SALT);
  const iv = () => cipher.rtpIv(0x5501a0b2, 0, 0xf17b);
  const flip = (bytes: Uint8Array, at: number) => {
    const copy = bytes.slice();
    copy[at]! ^= 1;
    return copy;
  };
  assert.equal(cipher.open(iv(), RTP_HEADER, flip(RTP_CIPHERTEXT, 5), RTP_TAG), undefined);
  assert.equal(cipher.open(iv(), flip(RTP_HEADER, 1), RTP_CIPHERTEXT, RTP_TAG), undefined);
  assert.equal(cipher.open(iv(), RTP_HEADER, RTP_CIPHERTEXT, flip(RTP_TAG, 15)), undefined);
  assert.equal(cipher.open(cipher.rtpIv(0x5501a0b2, 1, 0xf17b), RTP_HEADER, RTP_CIPHERTEXT, RTP_TAG), undefined);
});

Deno.test("tagMatches accepts RFC 7714 §16.1.1's tag and refuses any change to header, ciphertext or tag", () => {
  const cipher = new AesGcmCipher(KEY, SALT);
  const iv = () => cipher.rtpIv(0x5501a0b2, 0, 0xf17b);
  assert.equal(cipher.tagMatches(iv(), RTP_HEADER, RTP_CIPHERTEXT, RTP_TAG), true);
  for (const [name, bytes] of [["header", RTP_HEADER], ["ciphertext", RTP_CIPHERTEXT], ["tag", RTP_TAG]] as const) {
    for (let at = 0; at < bytes.length; at += 5) {
      const changed = bytes.slice();
      changed[at]! ^= 0x20;
      const args = { header: RTP_HEADER, ciphertext: RTP_CIPHERTEXT, tag: RTP_TAG, [name]: changed };
      assert.equal(cipher.tagMatches(iv(), args.header, args.ciphertext, args.tag), false, `${name} byte ${at}`);
    }
  }
  assert.equal(cipher.tagMatches(cipher.rtpIv(0x5501a0b2, 1, 0xf17b), RTP_HEADER, RTP_CIPHERTEXT, RTP_TAG), false);
});

Deno.test("tagMatches agrees with node's GCM for headers of 12 to 80 bytes and payloads of 0 to 1500 bytes", () => {
  const random = seededRandom(17);
  const bytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
  const cipher = new AesGcmCipher(bytes(16), bytes(12));
  for (const headerBytes of [12, 16, 20, 28, 32, 80]) {
    for (const payloadBytes of [0, 1, 15, 16, 17, 100, 1088, 1500, 3000]) {
      const header = bytes(headerBytes);
      const iv = cipher.rtpIv(0x01020304, 7, 65535).slice();
      const sealed = new Uint8Array(payloadBytes + 16);
      cipher.seal(iv, header, bytes(payloadBytes), sealed, 0);
      const ciphertext = sealed.subarray(0, payloadBytes);
      const tag = sealed.subarray(payloadBytes);
      assert.equal(cipher.tagMatches(iv, header, ciphertext, tag), true, `${headerBytes} + ${payloadBytes} bytes`);
      tag[payloadBytes % 16]! ^= 1;
      assert.equal(cipher.tagMatches(iv, header, ciphertext, tag), false, `${headerBytes} + ${payloadBytes} bytes`);
    }
  }
});

Deno.test("AesGcmCipher refuses a salt that is not 12 bytes", () => {
  assert.throws(() => new AesGcmCipher(KEY, new Uint8Array(14)), RangeError);
});
