/** The h265 row: fmtp verdicts, the format from in-band or SDP parameter sets, and no throwing on bad input. */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import { h265 } from "./row.ts";
import { toLengthPrefixed } from "../nal_units.ts";
import { bin, randomBytes, seededRandom, toHex } from "../../shared/testing.ts";

// libx265 Main 320x240 at 30 fps.
const vps = bin("40010c01ffff01600000030090000003000003003c959809");
const sps = bin("42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10");
const pps = bin("4401c172b46240");
const hvcC =
  "0101600000009000000000003cf000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003003c959809" +
  "a10001002a42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10" +
  "a2000100074401c172b46240";
// libx265 Main 10 318x178 at 25 fps.
const vps10 = bin("40010c01ffff02200000030090000003000003003c959809");
const sps10 = bin("42010102200000030090000003000003003ca00a080b9d48d96566924caf016808000003000800000300c840");
const idr = bin("2601 af 10");

function keyframe(...nalUnits: Uint8Array[]): Frame {
  return { timestamp: 0, keyframe: true, data: toLengthPrefixed(nalUnits) };
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

Deno.test("h265 row names the codec and its RTP clock", () => {
  assert.deepEqual([h265.kind, h265.name, h265.sdpName, h265.clockRate], ["video", "h265", "h265", 90_000]);
  assert.equal(h265.createDepacketizer().waitingForKeyframe, true);
});

Deno.test("h265 readFmtp returns sprop-vps, sprop-sps and sprop-pps as parameter sets", () => {
  const fmtp = new Map([
    ["profile-id", "1"],
    ["sprop-vps", base64(vps)],
    ["sprop-sps", base64(sps)],
    ["sprop-pps", `${base64(pps)},${base64(bin("4401c0"))}`],
  ]);
  assert.deepEqual(h265.readFmtp(fmtp), { rank: 0, parameterSets: [vps, sps, pps, bin("4401c0")] });
  assert.deepEqual(h265.readFmtp(new Map()), { rank: 0, parameterSets: [] });
});

Deno.test("h265 readFmtp leaves out unreadable sprop values and keeps the others", () => {
  const fmtp = new Map([["sprop-vps", "!!"], ["sprop-sps", base64(sps)]]);
  assert.deepEqual(h265.readFmtp(fmtp), { rank: 0, parameterSets: [sps] });
});

Deno.test("h265 readFmtp refuses DONL (sprop-max-don-diff > 0) and multi-stream transmission with a reason", () => {
  assert.deepEqual(h265.readFmtp(new Map([["sprop-max-don-diff", "0"], ["tx-mode", "SRST"]])), {
    rank: 0,
    parameterSets: [],
  });
  const donl = h265.readFmtp(new Map([["sprop-max-don-diff", "2"]]));
  assert.ok("refused" in donl && /sprop-max-don-diff=2.*DONL/.test(donl.refused), JSON.stringify(donl));
  const garbled = h265.readFmtp(new Map([["sprop-max-don-diff", "-1"]]));
  assert.ok("refused" in garbled && /not an integer/.test(garbled.refused));
  const msst = h265.readFmtp(new Map([["tx-mode", "MSST"]]));
  assert.ok("refused" in msst && /tx-mode=MSST/.test(msst.refused));
});

Deno.test("h265 format reads the keyframe's in-band parameter sets", () => {
  const format = h265.format(keyframe(vps, sps, pps, idr), []);
  assert.ok(format !== undefined);
  assert.deepEqual({ ...format, sampleEntry: undefined }, {
    sampleEntry: undefined,
    widthPx: 320,
    heightPx: 240,
    codecs: "hvc1.1.6.L60.90",
    frameRate: 30,
  });
  assert.equal(format.sampleEntry.fourcc, "hvc1");
  assert.equal(format.sampleEntry.config.fourcc, "hvcC");
  assert.equal(toHex(format.sampleEntry.config.body), hvcC);
});

Deno.test("h265 format prefers in-band parameter sets over the SDP's", () => {
  const format = h265.format(keyframe(vps10, sps10, pps, idr), [vps, sps, pps]);
  assert.deepEqual([format?.widthPx, format?.heightPx, format?.codecs], [318, 178, "hvc1.2.4.L60.90"]);
});

Deno.test("h265 format falls back to the SDP's parameter sets, per type", () => {
  assert.equal(toHex(h265.format(keyframe(idr), [vps, sps, pps])!.sampleEntry.config.body), hvcC);
  // In-band SPS and PPS, VPS only in the SDP.
  assert.equal(toHex(h265.format(keyframe(sps, pps, idr), [vps])!.sampleEntry.config.body), hvcC);
});

Deno.test("h265 format ignores repeated and enhancement-layer parameter sets", () => {
  const layer1Sps = bin("4209 0101");
  const format = h265.format(keyframe(vps, sps, layer1Sps, sps, pps, pps, idr), []);
  assert.equal(toHex(format!.sampleEntry.config.body), hvcC);
});

Deno.test("h265 format returns undefined without a VPS, SPS or PPS", () => {
  assert.equal(h265.format(keyframe(sps, pps, idr), []), undefined);
  assert.equal(h265.format(keyframe(vps, pps, idr), []), undefined);
  assert.equal(h265.format(keyframe(vps, sps, idr), []), undefined);
});

Deno.test("h265 format returns undefined, not throws, on garbage and truncated input", () => {
  assert.equal(h265.format(keyframe(vps, sps.subarray(0, 10), pps, idr), []), undefined);
  assert.equal(h265.format({ timestamp: 0, keyframe: true, data: bin("00000010 4001") }, [vps, sps, pps]), undefined);
  assert.equal(h265.format({ timestamp: 0, keyframe: true, data: new Uint8Array() }, []), undefined);
  const random = seededRandom(6381);
  for (let i = 0; i < 500; i++) {
    const data = toLengthPrefixed([vps, new Uint8Array([0x42, 0x01, ...randomBytes(random, i % 60)]), pps, idr]);
    const format = h265.format({ timestamp: 0, keyframe: true, data }, []);
    if (format !== undefined) assert.ok(format.widthPx > 0 && format.heightPx > 0);
    assert.equal(h265.format({ timestamp: 0, keyframe: true, data: randomBytes(random, i % 80) }, []), undefined);
  }
});
