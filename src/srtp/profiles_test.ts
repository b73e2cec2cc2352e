/** The sizes of the three profiles (RFC 5764 §4.1.2, RFC 7714 §14.2), and none for other profile numbers. */

import assert from "node:assert/strict";
import {
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_32,
  SRTP_AES128_CM_HMAC_SHA1_80,
  srtpProfileSizes,
} from "./profiles.ts";

Deno.test("srtpProfileSizes gives key, salt and tag bytes per profile", () => {
  const summary = (profile: number) => {
    const sizes = srtpProfileSizes(profile)!;
    return [
      sizes.aead,
      sizes.masterKeyBytes,
      sizes.masterSaltBytes,
      sizes.authKeyBytes,
      sizes.srtpAuthTagBytes,
      sizes.srtcpAuthTagBytes,
    ];
  };
  assert.deepEqual(summary(SRTP_AES128_CM_HMAC_SHA1_80), [false, 16, 14, 20, 10, 10]);
  assert.deepEqual(summary(SRTP_AES128_CM_HMAC_SHA1_32), [false, 16, 14, 20, 4, 10]);
  assert.deepEqual(summary(SRTP_AEAD_AES_128_GCM), [true, 16, 12, 0, 16, 16]);
  assert.equal(srtpProfileSizes(SRTP_AEAD_AES_128_GCM)!.sessionSaltBytes, 12);
  for (const unknown of [0, 3, 5, 6, 8, 0x0100]) assert.equal(srtpProfileSizes(unknown), undefined);
});
