/** Golden hvcC records are the bytes ffmpeg 5.1's mp4 muxer writes (`-tag:v hvc1`) for the same libx265 streams. */

import assert from "node:assert/strict";
import { hevcDecoderConfigurationRecord } from "./hvcc.ts";
import { bin, toHex } from "../../shared/testing.ts";

const pps = "4401c172b46240";
const cases = [
  {
    name: "Main 4:2:0 8-bit",
    vps: "40010c01ffff01600000030090000003000003003c959809",
    sps: "42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10",
    pps,
    hvcC: "0101600000009000000000003cf000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003003c959809" +
      "a10001002a42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10" +
      "a2000100074401c172b46240",
  },
  {
    name: "Main 10: bitDepth*Minus8 = 2",
    vps: "40010c01ffff02200000030090000003000003003c959809",
    sps: "42010102200000030090000003000003003ca00a080b9d48d96566924caf016808000003000800000300c840",
    pps,
    hvcC: "0102200000009000000000003cf000fcfdfafa00000f03a00001001840010c01ffff02200000030090000003000003003c959809" +
      "a10001002c42010102200000030090000003000003003ca00a080b9d48d96566924caf016808000003000800000300c840" +
      "a2000100074401c172b46240",
  },
  {
    name: "Main 4:2:2 10: chromaFormat = 2, two constraint bytes",
    vps: "40010c01ffff0408000003009d0800000300003c959809",
    sps: "4201010408000003009d0800000300003cb0192079365959a4932bc05a020000030002000003003010",
    pps,
    hvcC: "0104080000009d08000000003cf000fcfefafa00000f03a00001001740010c01ffff0408000003009d0800000300003c959809" +
      "a1000100294201010408000003009d0800000300003cb0192079365959a4932bc05a020000030002000003003010" +
      "a2000100074401c172b46240",
  },
  {
    name: "monochrome: chromaFormat = 0",
    vps: "40010c01ffff0408000003009fc800000300001e959809",
    sps: "4201010408000003009fc800000300001ec050818596566924caf016c080000003008000000f04",
    pps,
    hvcC: "0104080000009fc8000000001ef000fcfcf8f800000f03a00001001740010c01ffff0408000003009fc800000300001e959809" +
      "a1000100274201010408000003009fc800000300001ec050818596566924caf016c080000003008000000f04" +
      "a2000100074401c172b46240",
  },
  {
    name: "two temporal sub-layers without nesting: numTemporalLayers = 2, temporalIdNested = 0",
    vps: "40010c02ffff01600000030090000003000003003c00009598acc048",
    sps: "42010201600000030090000003000003003c0000a01620245965662b349265780b4040000003004000000782",
    pps,
    hvcC: "0101600000009000000000003cf000fcfdf8f800001303" +
      "a00001001c40010c02ffff01600000030090000003000003003c00009598acc048" +
      "a10001002c42010201600000030090000003000003003c0000a01620245965662b349265780b4040000003004000000782" +
      "a2000100074401c172b46240",
  },
];

for (const c of cases) {
  Deno.test(`hevcDecoderConfigurationRecord matches ffmpeg for ${c.name}`, () => {
    const record = hevcDecoderConfigurationRecord({ vps: [bin(c.vps)], sps: [bin(c.sps)], pps: [bin(c.pps)] });
    assert.equal(toHex(record), c.hvcC);
  });
}

Deno.test("hevcDecoderConfigurationRecord writes every parameter set of an array, in order", () => {
  const { vps, sps } = cases[0]!;
  const secondPps = bin("4401c172b46241");
  const record = hevcDecoderConfigurationRecord({ vps: [bin(vps)], sps: [bin(sps)], pps: [bin(pps), secondPps] });
  assert.equal(toHex(record.subarray(-21)), "a20002" + "0007" + pps + "0007" + toHex(secondPps));
});

Deno.test("hevcDecoderConfigurationRecord refuses missing or misplaced parameter sets", () => {
  const { vps, sps } = cases[0]!;
  assert.throws(() => hevcDecoderConfigurationRecord({ vps: [], sps: [bin(sps)], pps: [bin(pps)] }), /1 to 65535 VPS/);
  assert.throws(() => hevcDecoderConfigurationRecord({ vps: [bin(vps)], sps: [bin(sps)], pps: [] }), /1 to 65535 PPS/);
  assert.throws(
    () => hevcDecoderConfigurationRecord({ vps: [bin(vps)], sps: [bin(pps)], pps: [bin(pps)] }),
    /SPS array holds a NAL unit of type 34/,
  );
  assert.throws(
    () => hevcDecoderConfigurationRecord({ vps: [bin(vps)], sps: [bin(sps).subarray(0, 8)], pps: [bin(pps)] }),
    /invalid SPS: truncated/,
  );
});
