/**
 * A big-endian byte writer for ISO BMFF boxes that runs twice: once to measure, once to fill a buffer of exactly
 * that size. It never grows or reallocates; it does not parse.
 */

import { assert } from "../shared/assert.ts";

const TWO_POW_32 = 0x1_0000_0000;

/** Writes big-endian fields; without a buffer it only counts bytes (the measuring pass of `encode`). */
export class ByteWriter {
  /** Bytes written (or counted) so far. */
  position = 0;
  readonly #bytes: Uint8Array | null;
  readonly #view: DataView | null;

  /** `bytes` null makes a measuring writer that only advances `position`. */
  constructor(bytes: Uint8Array | null) {
    this.#bytes = bytes;
    this.#view = bytes === null ? null : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Unsigned 8-bit integer. */
  u8(value: number): void {
    checkRange("u8", value, 0, 0xff);
    this.#view?.setUint8(this.position, value);
    this.position += 1;
  }

  /** Unsigned 16-bit integer. */
  u16(value: number): void {
    checkRange("u16", value, 0, 0xffff);
    this.#view?.setUint16(this.position, value);
    this.position += 2;
  }

  /** Signed 16-bit integer. */
  i16(value: number): void {
    checkRange("i16", value, -0x8000, 0x7fff);
    this.#view?.setInt16(this.position, value);
    this.position += 2;
  }

  /** Unsigned 24-bit integer (the `flags` of a full box). */
  u24(value: number): void {
    checkRange("u24", value, 0, 0xff_ffff);
    this.#view?.setUint8(this.position, value >>> 16);
    this.#view?.setUint16(this.position + 1, value & 0xffff);
    this.position += 3;
  }

  /** Unsigned 32-bit integer. */
  u32(value: number): void {
    checkRange("u32", value, 0, 0xffff_ffff);
    this.#view?.setUint32(this.position, value);
    this.position += 4;
  }

  /** Signed 32-bit integer. */
  i32(value: number): void {
    checkRange("i32", value, -0x8000_0000, 0x7fff_ffff);
    this.#view?.setInt32(this.position, value);
    this.position += 4;
  }

  /** Unsigned 64-bit integer from a safe JS integer, written as two 32-bit halves (no BigInt on the hot path). */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) assert(false, `u64 out of range: ${value}`);
    this.#view?.setUint32(this.position, Math.floor(value / TWO_POW_32));
    this.#view?.setUint32(this.position + 4, value % TWO_POW_32);
    this.position += 8;
  }

  /** 16.16 fixed-point number. */
  fixed16_16(value: number): void {
    this.u32(Math.round(value * 0x1_0000) >>> 0);
  }

  /** Four ASCII characters: a box type or a brand. */
  fourcc(code: string): void {
    assert(code.length === 4, `fourcc must have 4 characters, got "${code}"`);
    for (let i = 0; i < 4; i++) this.u8(code.charCodeAt(i) & 0xff);
  }

  /** `count` zero bytes (reserved and pre_defined fields). */
  zeros(count: number): void {
    this.#bytes?.fill(0, this.position, this.position + count);
    this.position += count;
  }

  /** Raw bytes, copied once. */
  bytes(data: Uint8Array): void {
    this.#bytes?.set(data, this.position);
    this.position += data.byteLength;
  }

  /** A box (ISO/IEC 14496-12 §4.2): 32-bit size patched after `body` has written its fields. */
  box(type: string, body: () => void): void {
    const start = this.position;
    this.u32(0); // size, patched below
    this.fourcc(type); // type
    body();
    const sizeBytes = this.position - start;
    assert(sizeBytes <= 0xffff_ffff, `box "${type}" too large for a 32-bit size: ${sizeBytes}`);
    this.#view?.setUint32(start, sizeBytes);
  }

  /** A full box (ISO/IEC 14496-12 §4.2): a box with an 8-bit version and 24-bit flags. */
  fullBox(type: string, version: number, flags: number, body: () => void): void {
    this.box(type, () => {
      this.u8(version); // version
      this.u24(flags); // flags
      body();
    });
  }
}

/** Asserts `min <= value <= max`; the message is built only on failure, as fields are written per sample. */
function checkRange(field: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) assert(false, `${field} out of range: ${value}`);
}

/** Runs `write` once to measure and once to fill a buffer of exactly the measured size. */
export function encode(write: (w: ByteWriter) => void): Uint8Array {
  const measure = new ByteWriter(null);
  write(measure);
  const bytes = new Uint8Array(measure.position);
  const fill = new ByteWriter(bytes);
  write(fill);
  assert(fill.position === bytes.byteLength, `measured ${bytes.byteLength} bytes, wrote ${fill.position}`);
  return bytes;
}

/** Number of bytes `write` produces, without producing them. */
export function measure(write: (w: ByteWriter) => void): number {
  const w = new ByteWriter(null);
  write(w);
  return w.position;
}
