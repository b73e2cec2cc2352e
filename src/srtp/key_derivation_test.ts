/** Session key derivation: RFC 3711 Appendix B.3, SRTCP's labels, and the right-padded 12-byte GCM master salt. */

import assert from "node:assert/strict";
import { bin, toHex } from "../shared/testing.ts";
import {
  deriveSessionKey,
  deriveSessionKeys,
  LABEL_SRTCP_AUTHENTICATION,
  LABEL_SRTCP_ENCRYPTION,
  LABEL_SRTCP_SALT,
  LABEL_SRTP_AUTHENTICATION,
  LABEL_SRTP_ENCRYPTION,
  LABEL_SRTP_SALT,
} from "./key_derivation.ts";
import { SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, srtpProfileSizes } from "./profiles.ts";

const MASTER_KEY = bin("E1F97A0D3E018BE0D64FA32C06DE4139");
const MASTER_SALT = bin("0EC675AD498AFEEBB6960B3AABE6");

Deno.test("deriveSessionKey gives RFC 3711 B.3's cipher key, salt and authentication key", () => {
  assert.equal(
    toHex(deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTP_ENCRYPTION, 16)),
    "c61e7a93744f39ee10734afe3ff7a087",
  );
  assert.equal(toHex(deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTP_SALT, 14)), "30cbbc08863d8c85d49db34a9ae1");
  assert.equal(
    toHex(deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTP_AUTHENTICATION, 20)),
    "cebe321f6ff7716b6fd4ab49af256a156d38baa4",
  );
  // B.3 lists the first 94 bytes of the authentication key PRF: the second block continues the counter.
  assert.equal(
    toHex(deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTP_AUTHENTICATION, 32)),
    "cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbce",
  );
});

Deno.test("deriveSessionKeys uses labels 0-2 for SRTP and 3-5 for SRTCP", () => {
  const keys = deriveSessionKeys(srtpProfileSizes(SRTP_AES128_CM_HMAC_SHA1_80)!, MASTER_KEY, MASTER_SALT);
  assert.equal(toHex(keys.rtp.encryptionKey), "c61e7a93744f39ee10734afe3ff7a087");
  assert.equal(toHex(keys.rtp.salt), "30cbbc08863d8c85d49db34a9ae1");
  assert.equal(toHex(keys.rtp.authKey), "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
  assert.deepEqual(keys.rtcp.encryptionKey, deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTCP_ENCRYPTION, 16));
  assert.deepEqual(keys.rtcp.salt, deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTCP_SALT, 14));
  assert.deepEqual(keys.rtcp.authKey, deriveSessionKey(MASTER_KEY, MASTER_SALT, LABEL_SRTCP_AUTHENTICATION, 20));
  assert.notDeepEqual(keys.rtcp.encryptionKey, keys.rtp.encryptionKey);
});

Deno.test("deriveSessionKeys treats a 12-byte GCM master salt as salt · 2^16 and gives 12-byte salts, no HMAC key", () => {
  const salt12 = MASTER_SALT.subarray(0, 12);
  const keys = deriveSessionKeys(srtpProfileSizes(SRTP_AEAD_AES_128_GCM)!, MASTER_KEY, salt12);
  const padded = new Uint8Array(14);
  padded.set(salt12);
  assert.deepEqual(keys.rtp.encryptionKey, deriveSessionKey(MASTER_KEY, padded, LABEL_SRTP_ENCRYPTION, 16));
  assert.deepEqual(keys.rtp.salt, deriveSessionKey(MASTER_KEY, padded, LABEL_SRTP_SALT, 12));
  assert.equal(keys.rtp.salt.length, 12);
  assert.equal(keys.rtcp.salt.length, 12);
  assert.equal(keys.rtp.authKey.length, 0);
  assert.throws(() => deriveSessionKey(MASTER_KEY, new Uint8Array(15), LABEL_SRTP_SALT, 14), RangeError);
});
