/**
 * Reads H.264 RBSP bits: fixed-width fields and Exp-Golomb codes (ITU-T H.264 §7.2, §9.1).
 * It reads unescaped bytes only; `unescapeRbsp` removes emulation prevention first. Reading past the end throws
 * a `BadRequestError` naming `what` was being read, so callers can pass untrusted bytes.
 */

import { BadRequestError } from "../shared/errors.ts";

/** Removes emulation_prevention_three_byte (0x03 after 0x00 0x00) from a NAL unit (ITU-T H.264 §7.4.1). */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 0x03) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** A big-endian bit cursor over RBSP bytes; `what` prefixes error messages (e.g. "SPS"). */
export class BitReader {
  #bitOffset = 0;

  constructor(private readonly bytes: Uint8Array, private readonly what: string) {}

  /** Bits not yet read. */
  get bitsLeft(): number {
    return this.bytes.length * 8 - this.#bitOffset;
  }

  /** u(1) as a boolean. */
  flag(field: string): boolean {
    return this.bits(1, field) === 1;
  }

  /** u(n), n <= 32, as a non-negative number. */
  bits(n: number, field: string): number {
    if (n > this.bitsLeft) throw this.#truncated(field);
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#bitOffset >> 3] ?? 0;
      const bit = (byte >> (7 - (this.#bitOffset & 7))) & 1;
      value = value * 2 + bit;
      this.#bitOffset++;
    }
    return value;
  }

  /** ue(v), unsigned Exp-Golomb (§9.1); codes longer than 32 bits are rejected as invalid. */
  ue(field: string): number {
    let leadingZeros = 0;
    while (this.bits(1, field) === 0) {
      leadingZeros++;
      if (leadingZeros > 31) {
        throw new BadRequestError(`invalid ${this.what}: ${field} has an Exp-Golomb code too long`);
      }
    }
    return 2 ** leadingZeros - 1 + this.bits(leadingZeros, field);
  }

  /** se(v), signed Exp-Golomb (§9.1.1). */
  se(field: string): number {
    const k = this.ue(field);
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) that must lie in [min, max] (a semantic constraint from the spec). */
  ueInRange(field: string, min: number, max: number): number {
    const value = this.ue(field);
    if (value < min || value > max) {
      throw new BadRequestError(`invalid ${this.what}: ${field} must be between ${min} and ${max}, got ${value}`);
    }
    return value;
  }

  #truncated(field: string): BadRequestError {
    return new BadRequestError(`invalid ${this.what}: truncated while reading ${field} (${this.bytes.length} bytes)`);
  }
}
