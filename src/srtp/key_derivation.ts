/**
 * Session keys from a master key and master salt (RFC 3711 §4.3): the AES-CM PRF keyed with the master key, at key
 * derivation rate 0 so the index part of the key id is zero. A 12-byte GCM master salt is first multiplied by 2^16
 * into the PRF's 112 bits (RFC 7714 §11, erratum 4938), that is padded with two zero bytes on the right.
 */

import { createCipheriv } from "node:crypto";
import type { SrtpProfileSizes } from "./profiles.ts";

/** Key derivation labels (RFC 3711 §4.3.2). */
export const LABEL_SRTP_ENCRYPTION = 0x00;
export const LABEL_SRTP_AUTHENTICATION = 0x01;
export const LABEL_SRTP_SALT = 0x02;
export const LABEL_SRTCP_ENCRYPTION = 0x03;
export const LABEL_SRTCP_AUTHENTICATION = 0x04;
export const LABEL_SRTCP_SALT = 0x05;

const BLOCK_BYTES = 16;
/** The PRF input x is 112 bits (RFC 3711 §4.3.1); the last two bytes of each AES input block count blocks. */
const PRF_SALT_BYTES = 14;
/** The label is the first byte of the 56-bit key id, which is right-aligned in x. */
const LABEL_OFFSET = 7;

/** The keys of one direction of SRTP or of SRTCP. */
export interface SessionKeys {
  /** k_e, the AES-128 key. */
  readonly encryptionKey: Uint8Array;
  /** k_s: 14 bytes for AES-CM, 12 for GCM. */
  readonly salt: Uint8Array;
  /** k_a, the HMAC-SHA1 key; empty for GCM. */
  readonly authKey: Uint8Array;
}

/**
 * PRF_n(k_master, x) of `outputBytes` bytes for `label` (RFC 3711 §4.3.3): AES-CM keystream from IV = x · 2^16,
 * x = (label · 2^48) XOR master salt. `masterSalt` has at most 14 bytes; a shorter one is padded on the right.
 */
export function deriveSessionKey(
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
  label: number,
  outputBytes: number,
): Uint8Array {
  if (masterSalt.length > PRF_SALT_BYTES) throw new RangeError(`master salt of ${masterSalt.length} bytes`);
  const blocks = Math.ceil(outputBytes / BLOCK_BYTES);
  const counterBlocks = new Uint8Array(blocks * BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    const at = block * BLOCK_BYTES;
    counterBlocks.set(masterSalt, at);
    counterBlocks[at + LABEL_OFFSET]! ^= label;
    counterBlocks[at + 14] = block >>> 8;
    counterBlocks[at + 15] = block & 0xff;
  }
  const ecb = createCipheriv("aes-128-ecb", masterKey, null);
  ecb.setAutoPadding(false);
  const keystream = ecb.update(counterBlocks);
  ecb.final();
  return new Uint8Array(keystream.subarray(0, outputBytes));
}

/** The six session keys of a profile: SRTP's and SRTCP's encryption key, salt and (AES-CM only) HMAC key. */
export function deriveSessionKeys(
  sizes: SrtpProfileSizes,
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
): { rtp: SessionKeys; rtcp: SessionKeys } {
  const keys = (encryption: number, authentication: number, salt: number): SessionKeys => ({
    encryptionKey: deriveSessionKey(masterKey, masterSalt, encryption, sizes.masterKeyBytes),
    salt: deriveSessionKey(masterKey, masterSalt, salt, sizes.sessionSaltBytes),
    authKey: deriveSessionKey(masterKey, masterSalt, authentication, sizes.authKeyBytes),
  });
  return {
    rtp: keys(LABEL_SRTP_ENCRYPTION, LABEL_SRTP_AUTHENTICATION, LABEL_SRTP_SALT),
    rtcp: keys(LABEL_SRTCP_ENCRYPTION, LABEL_SRTCP_AUTHENTICATION, LABEL_SRTCP_SALT),
  };
}
