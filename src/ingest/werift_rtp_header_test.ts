import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { RtpHeader } from "werift";
import { parseRtpHeader, useFastRtpHeaderParser } from "./werift_rtp_header.ts";
import { seededRandom } from "../shared/testing.ts";

const weriftParse = RtpHeader.deSerialize.bind(RtpHeader);

function packet(bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

/** An RTP packet: the fixed header, `csrcs`, an extension block (profile and words), a payload and padding. */
function rtp(opts: {
  marker?: boolean;
  csrcs?: number[];
  extension?: { profile: number; data: number[] };
  payload?: number[];
  padding?: number;
}): Buffer {
  const csrcs = opts.csrcs ?? [];
  const first = 0x80 | (opts.padding !== undefined ? 0x20 : 0) | (opts.extension !== undefined ? 0x10 : 0) |
    csrcs.length;
  const bytes = [first, (opts.marker ? 0x80 : 0) | 96, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04];
  for (const csrc of csrcs) bytes.push(csrc >>> 24, (csrc >>> 16) & 0xff, (csrc >>> 8) & 0xff, csrc & 0xff);
  if (opts.extension !== undefined) {
    const words = Math.ceil(opts.extension.data.length / 4);
    const data = [...opts.extension.data, ...Array(words * 4 - opts.extension.data.length).fill(0)];
    bytes.push(opts.extension.profile >> 8, opts.extension.profile & 0xff, words >> 8, words & 0xff, ...data);
  }
  bytes.push(...(opts.payload ?? [1, 2, 3]));
  if (opts.padding !== undefined) bytes.push(...Array(opts.padding - 1).fill(0), opts.padding);
  return packet(bytes);
}

function assertSameAsWerift(raw: Buffer): void {
  const ours = parseRtpHeader(raw);
  const theirs = weriftParse(raw);
  assert.deepEqual({ ...ours }, { ...theirs });
  assert.ok(ours instanceof RtpHeader);
}

Deno.test("parseRtpHeader builds the RtpHeader werift's own parser builds", () => {
  assertSameAsWerift(rtp({}));
  assertSameAsWerift(rtp({ marker: true, padding: 4 }));
  assertSameAsWerift(rtp({ csrcs: [1, 0xffffffff, 0x12345678] }));
  // One-byte extensions (RFC 8285 §4.2), with padding bytes between them and id 15 ending the list.
  assertSameAsWerift(rtp({ extension: { profile: 0xbede, data: [0x10, 0xaa, 0, 0x21, 1, 2, 3, 0xf0, 9, 9] } }));
  // Two-byte extensions (§4.3) and a profile werift does not know.
  assertSameAsWerift(rtp({ csrcs: [7], extension: { profile: 0x1000, data: [3, 2, 0xaa, 0xbb, 0, 5, 0] } }));
  assertSameAsWerift(rtp({ extension: { profile: 0xabcd, data: [1, 2, 3, 4, 5, 6, 7, 8] } }));
});

Deno.test("parseRtpHeader agrees with werift on random headers", () => {
  const random = seededRandom(7);
  const byte = () => Math.floor(random() * 256);
  for (let i = 0; i < 500; i++) {
    const profile = [0xbede, 0x1000, byte() << 8 | byte()][Math.floor(random() * 3)]!;
    const data = Array.from({ length: Math.floor(random() * 12) }, byte);
    const csrcs = Array.from({ length: Math.floor(random() * 4) }, () => byte() * 0x1000000 + byte());
    assertSameAsWerift(rtp({ marker: random() < 0.5, csrcs, extension: { profile, data }, padding: 1 + byte() % 8 }));
  }
});

Deno.test("useFastRtpHeaderParser makes werift's RtpHeader.deSerialize the fast parser", () => {
  useFastRtpHeaderParser();
  assert.equal(RtpHeader.deSerialize, parseRtpHeader);
});
