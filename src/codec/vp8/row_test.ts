/**
 * The VP8 row: vpcC and codecs string from hand-built key frames, garbage refused without throwing, and libvpx output
 * through packetizer and depacketizer, judged by ffprobe. ffmpeg 5.1 cannot mux VP8 into MP4 and GStreamer 1.22's
 * qtmux writes `vp08` without a vpcC, so no independent writer of a VP8 vpcC is at hand: the record is compared
 * with the one ffmpeg writes for a VP9 stream of the same size, which its muxer derives the same way (its vpcc.c
 * has one code path for both codecs; only the profile comes from the bitstream).
 */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { bin, randomBytes, seededRandom, toHex } from "../../shared/testing.ts";
import { vp8 } from "./row.ts";
import { packetizeVp8 } from "./packetizer.ts";
import {
  encodeTestSource,
  exec,
  findBox,
  HAS_FFMPEG,
  probeVideo,
  readIvf,
  remuxToMp4,
  warnIfNoFfmpeg,
} from "./test_helpers.ts";
import { Packets } from "../test_packets.ts";

warnIfNoFfmpeg("src/codec/vp8/row_test.ts");

function frame(data: Uint8Array, keyframe = true): Frame {
  return { timestamp: 0, keyframe, data };
}

Deno.test("vp8 format reads a key frame into vp08/vpcC, its size and the codecs string", () => {
  const format = vp8.format(frame(bin("70 24 00 9d012a 4001 f000 1122")), []);
  assert.deepEqual(format, {
    sampleEntry: {
      fourcc: "vp08",
      // version 1, flags 0 | profile 0 | level 20 | 8-bit, 4:2:0 colocated, legal range | unspecified colour | no data
      config: { fourcc: "vpcC", body: bin("01000000 00 14 82 02 02 02 0000") },
    },
    widthPx: 320,
    heightPx: 240,
    codecs: "vp08.00.20.08",
  });
});

Deno.test("vp8 format takes the profile from the version number and the level from the size", () => {
  // version 3 (tag 0x000006), 1280x720.
  const format = vp8.format(frame(bin("06 00 00 9d012a 0005 d002")), []);
  assert.deepEqual(format?.codecs, "vp08.03.31.08");
  assert.deepEqual(toHex(format!.sampleEntry.config.body), "01000000" + "03" + "1f" + "82" + "020202" + "0000");
});

Deno.test("vp8 format returns undefined for inter frames, truncated headers and garbage", () => {
  const bad = [
    bin(""),
    bin("31 00 00 ff"), // an inter frame
    bin("70 24 00 9d012a 40"), // truncated key frame header
    bin("70 24 00 000000 4001 f000"), // no start code
  ];
  const random = seededRandom(3);
  for (let i = 0; i < 500; i++) bad.push(randomBytes(random, i % 20));
  for (const data of bad) assert.deepEqual(vp8.format(frame(data), []), undefined, toHex(data));
});

Deno.test("vp8 row accepts any fmtp and makes working depacketizers", () => {
  assert.deepEqual(vp8.readFmtp(new Map([["max-fr", "30"], ["max-fs", "3600"]])), { rank: 0, parameterSets: [] });
  assert.deepEqual([vp8.kind, vp8.name, vp8.sdpName, vp8.clockRate], ["video", "vp8", "vp8", 90_000]);
  const depacketizer = vp8.createDepacketizer();
  const key = bin("70 24 00 9d012a 4001 f000");
  const out = depacketizer.push(new Packets().packet(bin(`10 ${toHex(key)}`), 90, true));
  assert.deepEqual(out, [{ timestamp: 90, keyframe: true, data: key }]);
});

/** RTP payloads of every frame, 3000 ticks apart, with the marker on each frame's last payload. */
function packetize(frames: Uint8Array[]): ReorderOutput[] {
  const p = new Packets();
  return frames.flatMap((data, i) => {
    const payloads = packetizeVp8(data, { mtu: 1200, pictureId: i & 0x7fff });
    return payloads.map((payload, n) => p.packet(payload, i * 3000, n === payloads.length - 1));
  });
}

Deno.test({
  name: "vp8 row carries libvpx output through RTP unchanged and describes it as ffprobe does",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-vp8-" });
    try {
      // ffmpeg's vpcC for a VP9 stream of the same size and pixel format: the same record except the profile.
      await encodeTestSource(`${dir}/vp9.ivf`, ["-c:v", "libvpx-vp9", "-g", "30", "-b:v", "300k"], { seconds: 1 });
      await remuxToMp4(`${dir}/vp9.ivf`, `${dir}/vp9.mp4`);
      const vp9Mp4 = await Deno.readFile(`${dir}/vp9.mp4`);
      const ffmpegVpcC = findBox(vp9Mp4, ["moov", "trak", "mdia", "minf", "stbl", "stsd", "vp09", "vpcC"]);
      if (ffmpegVpcC === undefined) throw new Error("ffmpeg wrote no vpcC");

      for (const profile of [0, 1]) {
        const ivfPath = `${dir}/p${profile}.ivf`;
        await encodeTestSource(ivfPath, ["-c:v", "libvpx", "-profile:v", String(profile), "-g", "30", "-b:v", "300k"]);
        const ivf = readIvf(await Deno.readFile(ivfPath));
        assert.deepEqual(ivf.fourcc, "VP80");
        assert.deepEqual(ivf.frames.length, 60);

        const packets = packetize(ivf.frames);
        assert(packets.length > ivf.frames.length + 10, "some frames span several packets");
        const depacketizer = vp8.createDepacketizer();
        const received = [...packets.flatMap((input) => depacketizer.push(input)), ...depacketizer.flush()];
        assert.deepEqual(received.map((f) => f.data), ivf.frames, "every frame comes back byte-identical");
        const flags = await exec("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "packet=flags",
          "-of",
          "csv=p=0",
          ivfPath,
        ]);
        const ffprobeKeys = flags.trim().split("\n").map((line) => line.startsWith("K"));
        assert.deepEqual(received.map((f) => f.keyframe), ffprobeKeys);
        assert.deepEqual(ffprobeKeys.filter(Boolean).length, 2);

        const format = vp8.format(received[0]!, []);
        assert(format !== undefined);
        const probe = await probeVideo(ivfPath);
        assert.deepEqual([format.widthPx, format.heightPx], [probe.width, probe.height]);
        assert.deepEqual(format.codecs, `vp08.0${probe.profile}.20.08`);

        const expected: Uint8Array = Uint8Array.from(ffmpegVpcC);
        expected[4] = profile; // the profile byte, after the FullBox version and flags
        assert.deepEqual(toHex(format.sampleEntry.config.body), toHex(expected));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
