/**
 * The little AMF0 (Action Message Format 0) an FLV script tag needs: numbers, booleans, strings and ECMA arrays,
 * enough to write `onMetaData` (FLV 10.1 §E.4.4, AMF0 spec §2). It writes nothing else (no objects, references, dates,
 * AMF3) and reads nothing.
 */

import { assert } from "../../shared/assert.ts";

/** A value this encoder writes; a Map is an ECMA array, its entries in insertion order. */
export type Amf0Value = number | boolean | string | ReadonlyMap<string, Amf0Value>;

/** AMF0 type markers (AMF0 spec §2.1). */
const Marker = { Number: 0x00, Boolean: 0x01, String: 0x02, EcmaArray: 0x08, ObjectEnd: 0x09 } as const;

const UTF8 = new TextEncoder();

/** `values` one after another, each with its type marker. */
export function amf0(values: readonly Amf0Value[]): Uint8Array {
  const out: number[] = [];
  for (const value of values) writeValue(out, value);
  return Uint8Array.from(out);
}

/** The body of an `onMetaData` script tag: the string "onMetaData", then an ECMA array of `properties`. */
export function onMetaDataBody(properties: ReadonlyMap<string, Amf0Value>): Uint8Array {
  return amf0(["onMetaData", properties]);
}

function writeValue(out: number[], value: Amf0Value): void {
  if (typeof value === "number") {
    out.push(Marker.Number); // number-marker, then an IEEE 754 double, big-endian (§2.2)
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    out.push(...bytes);
  } else if (typeof value === "boolean") {
    out.push(Marker.Boolean, value ? 1 : 0); // boolean-marker, U8 (§2.3)
  } else if (typeof value === "string") {
    out.push(Marker.String); // string-marker, UTF-8 with a U16 length (§2.4)
    writeUtf8(out, value);
  } else {
    out.push(Marker.EcmaArray); // ecma-array-marker, U32 associative-count (§2.10)
    out.push((value.size >>> 24) & 0xff, (value.size >>> 16) & 0xff, (value.size >>> 8) & 0xff, value.size & 0xff);
    for (const [key, item] of value) {
      writeUtf8(out, key); // property name: UTF-8 without a marker
      writeValue(out, item);
    }
    out.push(0x00, 0x00, Marker.ObjectEnd); // empty name, object-end-marker
  }
}

function writeUtf8(out: number[], text: string): void {
  const bytes = UTF8.encode(text);
  assert(bytes.length <= 0xffff, `AMF0 string of ${bytes.length} bytes`);
  out.push(bytes.length >> 8, bytes.length & 0xff, ...bytes);
}
