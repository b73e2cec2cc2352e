/**
 * The VP9 row: vpcC and codecs string from hand-built key frames of every profile and colour configuration, SVC
 * superframes, garbage refused without throwing, and libvpx output through packetizer and depacketizer with its
 * vpcC compared byte for byte with the one ffmpeg's mp4 muxer writes for the same stream.
 */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { bin, concat, randomBytes, seededRandom, toHex } from "../../shared/testing.ts";
import {
  encodeTestSource,
  exec,
  findBox,
  HAS_FFMPEG,
  probeVideo,
  readIvf,
  remuxToMp4,
  warnIfNoFfmpeg,
} from "../vp8/test_helpers.ts";
import { Packets } from "../test_packets.ts";
import { Vp9ColorSpace, vp9SampleInfo } from "./frame_header.ts";
import { packetizeVp9 } from "./packetizer.ts";
import { vp9 } from "./row.ts";
import { buildVp9Superframe, splitVp9Superframe } from "./superframe.ts";
import { interFrame, keyFrame, showExistingFrame } from "./test_helpers.ts";

warnIfNoFfmpeg("src/codec/vp9/row_test.ts");

function frame(data: Uint8Array): Frame {
  return { timestamp: 0, keyframe: true, data };
}

Deno.test("vp9 format reads a profile 0 key frame into vp09/vpcC, its size and the codecs string", () => {
  assert.deepEqual(vp9.format(frame(keyFrame()), []), {
    sampleEntry: {
      fourcc: "vp09",
      // version 1, flags 0 | profile 0 | level 20 | 8-bit, 4:2:0 colocated, legal range | unspecified colour | no data
      config: { fourcc: "vpcC", body: bin("01000000 00 14 82 02 02 02 0000") },
    },
    widthPx: 320,
    heightPx: 240,
    codecs: "vp09.00.20.08",
  });
});

Deno.test("vp9 format maps profile, bit depth, subsampling, range and colour space to vpcC fields", () => {
  const cases: [string, Uint8Array, string][] = [
    // [name, key frame, profile level bits primaries transfer matrix]
    ["BT.709", keyFrame({ colorSpace: Vp9ColorSpace.Bt709 }), "00 14 82 020201"],
    ["BT.601 as ffmpeg maps it", keyFrame({ colorSpace: Vp9ColorSpace.Bt601 }), "00 14 82 020205"],
    ["SMPTE 170", keyFrame({ colorSpace: Vp9ColorSpace.Smpte170 }), "00 14 82 020206"],
    ["SMPTE 240", keyFrame({ colorSpace: Vp9ColorSpace.Smpte240 }), "00 14 82 020207"],
    ["reserved colour space", keyFrame({ colorSpace: Vp9ColorSpace.Reserved }), "00 14 82 020202"],
    ["full range", keyFrame({ fullRange: true }), "00 14 83 020202"],
    ["profile 1 4:4:4", keyFrame({ profile: 1, subsampling: [0, 0] }), "01 14 86 020202"],
    ["profile 1 4:2:2", keyFrame({ profile: 1, subsampling: [1, 0] }), "01 14 84 020202"],
    ["profile 1 RGB", keyFrame({ profile: 1, colorSpace: Vp9ColorSpace.Rgb }), "01 14 87 020200"],
    [
      "profile 2 10-bit BT.2020",
      keyFrame({ profile: 2, bitDepth: 10, colorSpace: Vp9ColorSpace.Bt2020 }),
      "02 14 a2 020209",
    ],
    ["profile 3 12-bit 4:4:4", keyFrame({ profile: 3, bitDepth: 12, subsampling: [0, 0] }), "03 14 c6 020202"],
    ["1920x1080", keyFrame({ widthPx: 1920, heightPx: 1080 }), "00 28 82 020202"],
  ];
  for (const [name, data, fields] of cases) {
    const format = vp9.format(frame(data), []);
    assert.deepEqual(
      toHex(format?.sampleEntry.config.body ?? new Uint8Array()),
      `01000000${fields}0000`.replaceAll(" ", ""),
      name,
    );
  }
  assert.deepEqual(vp9.format(frame(keyFrame({ profile: 2, bitDepth: 12 })), [])?.codecs, "vp09.02.20.12");
});

Deno.test("vp9 format refuses 4:4:0, which vpcC cannot describe", () => {
  assert.deepEqual(vp9.format(frame(keyFrame({ profile: 1, subsampling: [0, 1] })), []), undefined);
});

Deno.test("vp9 format gives an SVC key picture the size of its top spatial layer", () => {
  const sample = buildVp9Superframe([
    keyFrame({ widthPx: 320, heightPx: 180 }),
    interFrame({ refs: [0, 0, 0], refresh: 0x02, widthPx: 1280, heightPx: 720 }),
  ]);
  const format = vp9.format(frame(sample), []);
  assert.deepEqual([format?.widthPx, format?.heightPx, format?.codecs], [1280, 720, "vp09.00.31.08"]);
});

Deno.test("vp9 format returns undefined for non-key samples, truncated headers, bad superframes and garbage", () => {
  const bad = [
    new Uint8Array(),
    interFrame(),
    showExistingFrame(0),
    buildVp9Superframe([interFrame(), keyFrame()]), // a key frame, but not first
    keyFrame().subarray(0, 7),
    concat([keyFrame(), bin("c1 ff 05 c1")]),
  ];
  const random = seededRandom(5);
  for (let i = 0; i < 500; i++) bad.push(randomBytes(random, i % 24));
  for (const data of bad) assert.deepEqual(vp9.format(frame(data), []), undefined, toHex(data));
});

Deno.test("vp9 readFmtp accepts profile-id 0 to 3, ranking profile 0 first", () => {
  const verdict = (entries: [string, string][]) => vp9.readFmtp(new Map(entries));
  assert.deepEqual(verdict([]), { rank: 1, parameterSets: [] });
  assert.deepEqual(verdict([["profile-id", "0"]]), { rank: 1, parameterSets: [] });
  assert.deepEqual(verdict([["profile-id", "2"], ["max-fr", "30"]]), { rank: 0, parameterSets: [] });
  assert.deepEqual(verdict([["profile-id", "4"]]), { refused: 'VP9 profile-id must be 0, 1, 2 or 3, got "4"' });
  assert.deepEqual(verdict([["profile-id", " 1"]]), { refused: 'VP9 profile-id must be 0, 1, 2 or 3, got " 1"' });
  assert.deepEqual([vp9.kind, vp9.name, vp9.sdpName, vp9.clockRate], ["video", "vp9", "vp9", 90_000]);
});

/**
 * RTP packets for encoder chunks 3000 ticks apart: each chunk whole as one frame, or (`splitSuperframes`) its
 * frames sent as separate frames of the picture, as a sender with spatial layers sends them.
 */
function packetize(
  chunks: Uint8Array[],
  { flexible, splitSuperframes }: { flexible: boolean; splitSuperframes: boolean },
) {
  const p = new Packets();
  const out: ReorderOutput[] = [];
  chunks.forEach((chunk, i) => {
    const info = vp9SampleInfo(chunk);
    const frames = splitSuperframes ? splitVp9Superframe(chunk) : [chunk];
    frames.forEach((data, spatialId) => {
      const payloads = packetizeVp9(data, {
        mtu: 1200,
        descriptor: {
          interPicturePredicted: !info.keyframe,
          flexible,
          notReferenceForUpperLayers: false,
          pictureId: i & 0x7fff,
          layer: {
            temporalId: 0,
            switchingUpPoint: false,
            spatialId,
            interLayerDependency: false,
            tl0PicIdx: i & 0xff,
          },
          ...(flexible && !info.keyframe ? { referenceDiffs: [1] } : {}),
          ...(info.keyframe && spatialId === 0
            ? { scalability: { spatialLayers: 1, resolutions: [{ widthPx: info.widthPx!, heightPx: info.heightPx! }] } }
            : {}),
        },
      });
      const lastFrame = spatialId === frames.length - 1;
      payloads.forEach((payload, n) => out.push(p.packet(payload, i * 3000, lastFrame && n === payloads.length - 1)));
    });
  });
  return out;
}

/** Key flags of each packet (chunk) of a file, as ffprobe reads them. */
async function ffprobeKeyframes(path: string): Promise<boolean[]> {
  const flags = await exec("ffprobe", ["-v", "error", "-show_entries", "packet=flags", "-of", "csv=p=0", path]);
  return flags.trim().split("\n").map((line) => line.startsWith("K"));
}

Deno.test({
  name: "vp9 row carries libvpx profile 0 and 2 output through RTP unchanged, superframes included",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-vp9-" });
    try {
      // Profile 0 in two passes, so that alt-ref frames make superframes; profile 2 is 10-bit 4:2:0.
      const p0 = ["-c:v", "libvpx-vp9", "-g", "30", "-b:v", "300k", "-passlogfile", `${dir}/pass`];
      await encodeTestSource("-", [...p0, "-pass", "1", "-f", "null"]);
      await encodeTestSource(`${dir}/p0.ivf`, [...p0, "-pass", "2", "-auto-alt-ref", "1"]);
      await encodeTestSource(`${dir}/p2.ivf`, [
        "-c:v",
        "libvpx-vp9",
        "-profile:v",
        "2",
        "-pix_fmt",
        "yuv420p10le",
        "-g",
        "30",
      ]);

      for (const [name, profile] of [["p0", 0], ["p2", 2]] as const) {
        const path = `${dir}/${name}.ivf`;
        const chunks = readIvf(await Deno.readFile(path)).frames;
        const superframes = chunks.filter((chunk) => splitVp9Superframe(chunk).length > 1).length;
        assert.deepEqual(superframes > 0, name === "p0", `${name}: superframes in the two-pass stream only`);
        const keyframes = await ffprobeKeyframes(path);
        assert.deepEqual(keyframes.filter(Boolean).length, 2);

        for (const flexible of [false, true]) {
          for (const splitSuperframes of [false, true]) {
            const packets = packetize(chunks, { flexible, splitSuperframes });
            assert(packets.length > chunks.length + 10, "some frames span several packets");
            const depacketizer = vp9.createDepacketizer();
            const received = [...packets.flatMap((input) => depacketizer.push(input)), ...depacketizer.flush()];
            const how = `${name} flexible=${flexible} split=${splitSuperframes}`;
            assert.deepEqual(received.length, chunks.length, how);
            received.forEach((sample, i) =>
              assert(toHex(sample.data) === toHex(chunks[i]!), `${how}: sample ${i} differs`)
            );
            assert.deepEqual(received.map((f) => f.keyframe), keyframes, how);
          }
        }

        const format = vp9.format({ timestamp: 0, keyframe: true, data: chunks[0]! }, []);
        const probe = await probeVideo(path);
        assert.deepEqual([format?.widthPx, format?.heightPx], [probe.width, probe.height]);
        assert.deepEqual(format?.codecs, `vp09.0${profile}.20.${profile === 0 ? "08" : "10"}`);
        assert.deepEqual(probe.profile, `Profile ${profile}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "vp9 format writes the vpcC ffmpeg's mp4 muxer writes for the same libvpx stream",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-vp9-vpcc-" });
    const fast = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"];
    const cases = [
      { name: "profile 0", args: [] },
      { name: "profile 2 10-bit", args: ["-profile:v", "2", "-pix_fmt", "yuv420p10le"] },
      { name: "profile 2 10-bit BT.2020", args: ["-pix_fmt", "yuv420p10le", "-colorspace", "bt2020nc"] },
      { name: "profile 1 4:4:4", args: ["-pix_fmt", "yuv444p"] },
      { name: "profile 1 4:2:2", args: ["-pix_fmt", "yuv422p"] },
      { name: "profile 1 RGB", args: ["-pix_fmt", "gbrp"] },
      { name: "full range", args: ["-color_range", "pc"] },
      { name: "BT.709", args: ["-colorspace", "bt709"] },
      { name: "BT.601 (bt470bg)", args: ["-colorspace", "bt470bg"] },
      { name: "1280x720", args: [], size: "1280x720" },
      // ffmpeg ignores the level table's breadth limit: it writes level 2.1 where 1920 wide needs level 3.
      { name: "1920x100", args: [], size: "1920x100", ffmpegLevel: 21, ourLevel: 30 },
    ];
    try {
      for (const c of cases) {
        const ivf = `${dir}/${c.name.replace(/\W+/g, "_")}.ivf`;
        await encodeTestSource(ivf, [...fast, ...c.args], { size: c.size ?? "320x240", seconds: 0.1 });
        await remuxToMp4(ivf, `${ivf}.mp4`);
        const ffmpegVpcC = findBox(await Deno.readFile(`${ivf}.mp4`), [
          "moov",
          "trak",
          "mdia",
          "minf",
          "stbl",
          "stsd",
          "vp09",
          "vpcC",
        ]);
        if (ffmpegVpcC === undefined) throw new Error(`${c.name}: ffmpeg wrote no vpcC`);
        const format = vp9.format(
          { timestamp: 0, keyframe: true, data: readIvf(await Deno.readFile(ivf)).frames[0]! },
          [],
        );
        if (format === undefined) throw new Error(`${c.name}: no format`);
        const ours = Uint8Array.from(format.sampleEntry.config.body);
        if (c.ffmpegLevel !== undefined) {
          assert.deepEqual([ours[5], ffmpegVpcC[5]], [c.ourLevel, c.ffmpegLevel], c.name);
          ours[5] = c.ffmpegLevel;
        }
        assert.deepEqual(toHex(ours), toHex(ffmpegVpcC), c.name);
        const probe = await probeVideo(ivf);
        assert.deepEqual([format.widthPx, format.heightPx], [probe.width, probe.height], c.name);
        assert.deepEqual(`Profile ${ours[4]}`, probe.profile, c.name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
