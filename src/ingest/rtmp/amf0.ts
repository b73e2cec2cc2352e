/**
 * AMF0 values (Adobe "Action Message Format -- AMF 0", 2007) as RTMP commands and data messages carry them:
 * number, boolean, string, long string, object, null, undefined, ECMA array, strict array and date. Decoding is
 * total: any byte string either decodes or throws `RtmpProtocolError`, nesting is bounded and no length field is
 * trusted before the bytes are there. References, typed objects, XML documents and the AMF3 switch are refused
 * (no encoder we take input from sends them in commands or metadata).
 */

import { RtmpProtocolError } from "./errors.ts";

/** A decoded AMF0 value; `Map`s keep the property order of the bytes (which encoders and golden tests rely on). */
export type Amf0Value =
  | number
  | boolean
  | string
  | null
  | undefined
  | Date
  | Amf0Object
  | Amf0EcmaArray
  | Amf0Value[];

/** An anonymous AMF0 object (marker 0x03): property name to value, in wire order. */
export type Amf0Object = Map<string, Amf0Value>;

/** An AMF0 ECMA array (marker 0x08, "associative array"): a Map subclass so that it survives a round trip. */
export class Amf0EcmaArray extends Map<string, Amf0Value> {}

/** Deepest nesting of objects and arrays that decoding accepts (real metadata nests 2 or 3 levels). */
export const AMF0_MAX_DEPTH = 64;

/** Type markers, AMF 0 spec §2.1. */
const Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  Null: 0x05,
  Undefined: 0x06,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
} as const;

/** Names of the markers this codec refuses, for error messages. */
const REFUSED_MARKERS: Readonly<Record<number, string>> = {
  0x04: "movieclip (reserved)",
  0x07: "reference",
  0x0d: "unsupported",
  0x0e: "recordset (reserved)",
  0x0f: "XML document",
  0x10: "typed object",
  0x11: "AMF3 switch (avmplus object)",
};

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** An object from a plain record, in the record's key order: `amf0Object({ level: "status" })`. */
export function amf0Object(record: Readonly<Record<string, Amf0Value>>): Amf0Object {
  return new Map(Object.entries(record));
}

/** Decodes every AMF0 value in `bytes`, back to back; throws `RtmpProtocolError` naming the offset of a fault. */
export function decodeAmf0(bytes: Uint8Array): Amf0Value[] {
  const reader = new Amf0Reader(bytes);
  const values: Amf0Value[] = [];
  while (!reader.atEnd) values.push(reader.value(0));
  return values;
}

/** Encodes `values` back to back; strings longer than 65535 UTF-8 bytes become long strings (marker 0x0C). */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  const sink = new ByteSink();
  for (const value of values) writeValue(sink, value, 0);
  return sink.finish();
}

class Amf0Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get atEnd(): boolean {
    return this.#offset >= this.#bytes.length;
  }

  value(depth: number): Amf0Value {
    if (depth > AMF0_MAX_DEPTH) this.#fail(`nesting deeper than ${AMF0_MAX_DEPTH} levels`);
    const marker = this.#u8("type marker");
    switch (marker) {
      case Marker.Number:
        this.#need(8, "number");
        this.#offset += 8;
        return this.#view.getFloat64(this.#offset - 8);
      case Marker.Boolean:
        return this.#u8("boolean") !== 0;
      case Marker.String:
        return this.#utf8(this.#u16("string length"), "string");
      case Marker.LongString:
        return this.#utf8(this.#u32("long string length"), "long string");
      case Marker.Object:
        return this.#properties(new Map(), depth, undefined);
      case Marker.Null:
        return null;
      case Marker.Undefined:
        return undefined;
      case Marker.EcmaArray: {
        // The count is a hint (some encoders get it wrong): the object-end marker ends the array.
        const count = this.#u32("ECMA array count");
        return this.#properties(new Amf0EcmaArray(), depth, count);
      }
      case Marker.StrictArray: {
        const count = this.#u32("strict array count");
        // Every value takes at least one byte, so a count beyond the bytes left is a lie, refused before looping.
        if (count > this.#bytes.length - this.#offset) {
          this.#fail(`strict array of ${count} values in ${this.#bytes.length - this.#offset} bytes`);
        }
        const values: Amf0Value[] = [];
        for (let i = 0; i < count; i++) values.push(this.value(depth + 1));
        return values;
      }
      case Marker.Date: {
        this.#need(10, "date");
        const epochMs = this.#view.getFloat64(this.#offset);
        this.#offset += 10; // 8-byte double, then a 16-bit time zone that the spec says to ignore (§2.13)
        return new Date(epochMs);
      }
      case Marker.ObjectEnd:
        return this.#fail("object-end marker outside an object", 1);
      default:
        return this.#fail(`unsupported type marker 0x${hex2(marker)} (${REFUSED_MARKERS[marker] ?? "unknown"})`, 1);
    }
  }

  /** Name-value pairs up to the empty name and object-end marker (§2.5). */
  #properties<T extends Amf0Object>(target: T, depth: number, ecmaCount: number | undefined): T {
    for (;;) {
      if (this.atEnd && ecmaCount !== undefined && target.size >= ecmaCount) return target; // end marker left out
      const nameLength = this.#u16("property name length");
      if (nameLength === 0) {
        const end = this.#u8("object-end marker");
        if (end !== Marker.ObjectEnd) this.#fail(`empty property name followed by 0x${hex2(end)}, not object-end`, 1);
        return target;
      }
      const name = this.#utf8(nameLength, "property name");
      target.set(name, this.value(depth + 1));
    }
  }

  #need(sizeBytes: number, what: string): void {
    const left = this.#bytes.length - this.#offset;
    if (sizeBytes > left) this.#fail(`${what} needs ${sizeBytes} bytes, ${left} left`);
  }

  #u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.#offset++]!;
  }

  #u16(what: string): number {
    this.#need(2, what);
    this.#offset += 2;
    return this.#view.getUint16(this.#offset - 2);
  }

  #u32(what: string): number {
    this.#need(4, what);
    this.#offset += 4;
    return this.#view.getUint32(this.#offset - 4);
  }

  #utf8(sizeBytes: number, what: string): string {
    this.#need(sizeBytes, what);
    this.#offset += sizeBytes;
    return utf8Decoder.decode(this.#bytes.subarray(this.#offset - sizeBytes, this.#offset));
  }

  /** Throws for the value at the current offset, or `back` bytes before it (the marker just read). */
  #fail(reason: string, back = 0): never {
    throw new RtmpProtocolError(`invalid AMF0 at offset ${this.#offset - back}: ${reason}`);
  }
}

function writeValue(sink: ByteSink, value: Amf0Value, depth: number): void {
  if (depth > AMF0_MAX_DEPTH) throw new RangeError(`AMF0 value nests deeper than ${AMF0_MAX_DEPTH} levels`);
  if (typeof value === "number") {
    sink.u8(Marker.Number);
    sink.f64(value);
  } else if (typeof value === "boolean") {
    sink.u8(Marker.Boolean);
    sink.u8(value ? 1 : 0);
  } else if (typeof value === "string") {
    const bytes = utf8Encoder.encode(value);
    if (bytes.length <= 0xffff) {
      sink.u8(Marker.String);
      sink.u16(bytes.length);
    } else {
      sink.u8(Marker.LongString);
      sink.u32(bytes.length);
    }
    sink.bytes(bytes);
  } else if (value === null) {
    sink.u8(Marker.Null);
  } else if (value === undefined) {
    sink.u8(Marker.Undefined);
  } else if (value instanceof Date) {
    sink.u8(Marker.Date);
    sink.f64(value.getTime());
    sink.u16(0); // time zone: "should be set to 0x0000" (§2.13)
  } else if (Array.isArray(value)) {
    sink.u8(Marker.StrictArray);
    sink.u32(value.length);
    for (const item of value) writeValue(sink, item, depth + 1);
  } else {
    if (value instanceof Amf0EcmaArray) {
      sink.u8(Marker.EcmaArray);
      sink.u32(value.size);
    } else {
      sink.u8(Marker.Object);
    }
    for (const [name, item] of value) {
      const nameBytes = utf8Encoder.encode(name);
      if (nameBytes.length === 0 || nameBytes.length > 0xffff) {
        throw new RangeError(`AMF0 property name must be 1 to 65535 UTF-8 bytes, got ${nameBytes.length}`);
      }
      sink.u16(nameBytes.length);
      sink.bytes(nameBytes);
      writeValue(sink, item, depth + 1);
    }
    sink.u16(0);
    sink.u8(Marker.ObjectEnd);
  }
}

/** Big-endian bytes appended to a growing buffer. */
class ByteSink {
  #buffer = new Uint8Array(256);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  u8(value: number): void {
    this.#reserve(1).setUint8(this.#length - 1, value);
  }

  u16(value: number): void {
    this.#reserve(2).setUint16(this.#length - 2, value);
  }

  u32(value: number): void {
    this.#reserve(4).setUint32(this.#length - 4, value);
  }

  f64(value: number): void {
    this.#reserve(8).setFloat64(this.#length - 8, value);
  }

  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length - bytes.length);
  }

  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  /** Grows the buffer for `sizeBytes` more bytes, advances the length, and returns the (possibly new) view. */
  #reserve(sizeBytes: number): DataView {
    const needed = this.#length + sizeBytes;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return this.#view;
  }
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
