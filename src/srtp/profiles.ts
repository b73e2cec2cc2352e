/**
 * The DTLS-SRTP protection profiles liverec accepts (RFC 5764 §4.1.2, RFC 7714 §14.2) and their sizes in bytes: master
 * key and salt, session salt and authentication key, and the authentication tags of SRTP and SRTCP.
 */

/** AES-128 counter mode with an 80-bit HMAC-SHA1 tag on SRTP and SRTCP. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
/** AES-128 counter mode with a 32-bit HMAC-SHA1 tag on SRTP; SRTCP keeps the 80-bit tag (RFC 5764 §4.1.2). */
export const SRTP_AES128_CM_HMAC_SHA1_32 = 0x0002;
/** AES-128 in Galois/counter mode, a 128-bit tag on SRTP and SRTCP (RFC 7714). */
export const SRTP_AEAD_AES_128_GCM = 0x0007;

/** A DTLS-SRTP protection profile number this module implements. */
export type SrtpProfile =
  | typeof SRTP_AES128_CM_HMAC_SHA1_80
  | typeof SRTP_AES128_CM_HMAC_SHA1_32
  | typeof SRTP_AEAD_AES_128_GCM;

/** What a profile fixes: the transform and every length in bytes. */
export interface SrtpProfileSizes {
  readonly profile: SrtpProfile;
  /** AES-GCM (RFC 7714) rather than AES-CM with HMAC-SHA1 (RFC 3711). */
  readonly aead: boolean;
  readonly masterKeyBytes: number;
  readonly masterSaltBytes: number;
  /** Session salt: 14 bytes for AES-CM (k_s), 12 for GCM. */
  readonly sessionSaltBytes: number;
  /** HMAC-SHA1 session key (k_a); 0 for GCM, whose tag needs no key of its own. */
  readonly authKeyBytes: number;
  readonly srtpAuthTagBytes: number;
  readonly srtcpAuthTagBytes: number;
}

const PROFILE_SIZES: ReadonlyMap<number, SrtpProfileSizes> = new Map(
  [
    [SRTP_AES128_CM_HMAC_SHA1_80, {
      profile: SRTP_AES128_CM_HMAC_SHA1_80,
      aead: false,
      masterKeyBytes: 16,
      masterSaltBytes: 14,
      sessionSaltBytes: 14,
      authKeyBytes: 20,
      srtpAuthTagBytes: 10,
      srtcpAuthTagBytes: 10,
    }],
    [SRTP_AES128_CM_HMAC_SHA1_32, {
      profile: SRTP_AES128_CM_HMAC_SHA1_32,
      aead: false,
      masterKeyBytes: 16,
      masterSaltBytes: 14,
      sessionSaltBytes: 14,
      authKeyBytes: 20,
      srtpAuthTagBytes: 4,
      srtcpAuthTagBytes: 10,
    }],
    [SRTP_AEAD_AES_128_GCM, {
      profile: SRTP_AEAD_AES_128_GCM,
      aead: true,
      masterKeyBytes: 16,
      masterSaltBytes: 12,
      sessionSaltBytes: 12,
      authKeyBytes: 0,
      srtpAuthTagBytes: 16,
      srtcpAuthTagBytes: 16,
    }],
  ] as const,
);

/** The sizes of `profile`, or undefined for a profile number this module does not implement. */
export function srtpProfileSizes(profile: number): SrtpProfileSizes | undefined {
  return PROFILE_SIZES.get(profile);
}
