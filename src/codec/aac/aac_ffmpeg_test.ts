/**
 * Real encoders as judges: ffmpeg's AAC-LC encoder writes ADTS and MP4 (its esds read out with a tiny box walker),
 * GStreamer's voaacenc writes MPEG-2 ADTS, and ffprobe reads MP4 files whose esds was swapped for ours with hand-built
 * HE-AAC configurations (no HE-AAC encoder is installed; ffmpeg's decoder still reads the signalling). Skipped with a
 * warning where ffmpeg or GStreamer is missing.
 */

import assert from "node:assert/strict";
import { bin, toHex } from "../../shared/testing.ts";
import { adtsAudioSpecificConfig, adtsFraming, adtsHeader, splitAdts } from "./adts.ts";
import { parseAudioSpecificConfig } from "./audio_specific_config.ts";
import { aacEsdsBody, parseEsds } from "./esds.ts";
import { esdsOf, exec, ffprobe, hasCommand, withEsds } from "./testing.ts";

const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");
if (!HAS_FFMPEG) console.warn("SKIPPING AAC ffmpeg tests: ffmpeg/ffprobe not found on PATH");
const HAS_VOAACENC = hasCommand("gst-inspect-1.0", ["voaacenc"]);
if (!HAS_VOAACENC) console.warn("SKIPPING voaacenc test: GStreamer's voaacenc not found");

/** ffmpeg's aac encoder output for `seconds` of a sine at `rateHz` with `channels`: as ADTS, and that remuxed to MP4. */
async function encode(dir: string, rateHz: number, channels: number): Promise<{ adts: Uint8Array; mp4: string }> {
  const adtsPath = `${dir}/aac_${rateHz}_${channels}.adts`;
  const mp4Path = `${dir}/aac_${rateHz}_${channels}.mp4`;
  await exec("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${rateHz}`, "-t", "0.5"],
    ...["-ac", String(channels), "-c:a", "aac", "-f", "adts", adtsPath],
  ]);
  await exec("ffmpeg", ["-v", "error", "-i", adtsPath, "-c", "copy", mp4Path]);
  return { adts: await Deno.readFile(adtsPath), mp4: mp4Path };
}

Deno.test({
  name: "ffmpeg's AAC-LC: our ADTS headers, AudioSpecificConfig reading and esds equal what ffmpeg wrote",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-aac-" });
    try {
      for (const [rateHz, channels] of [[48000, 2], [44100, 1], [22050, 1], [8000, 2], [48000, 6]] as const) {
        const what = `${rateHz} Hz, ${channels} channels`;
        const { adts, mp4 } = await encode(dir, rateHz, channels);
        const mp4Bytes = await Deno.readFile(mp4);
        const probe = await ffprobe(mp4);

        // ffmpeg's esds, read by our parser; its ASC read by ours agrees with ffprobe.
        const ffmpegEsds = esdsOf(mp4Bytes);
        const esds = parseEsds(ffmpegEsds);
        assert.ok(esds.ok, what);
        assert.equal(esds.value.objectTypeIndication, 0x40);
        const asc = esds.value.decoderSpecificInfo!;
        const config = parseAudioSpecificConfig(asc);
        assert.ok(config.ok, what);
        assert.deepEqual(
          [config.value.sampleRateHz, config.value.channels, config.value.codecs, config.value.samplesPerFrame],
          [Number(probe.streams[0]?.sample_rate), probe.streams[0]?.channels, "mp4a.40.2", 1024],
          what,
        );

        // Our esds with ffmpeg's rates is ffmpeg's, but for the ES_ID (ffmpeg writes the track ID; a file stores 0).
        const ours = aacEsdsBody(asc, esds.value);
        const theirs = ffmpegEsds.slice();
        theirs.set([0, 0], 9); // ES_ID after version/flags (4), tag (1) and the 4-byte size
        assert.equal(toHex(ours), toHex(theirs), what);

        // Every ADTS frame: a header equal to the one we write from the ASC, and one MP4 sample of the same size.
        const split = splitAdts(adts);
        assert.equal(split.reason, undefined, what);
        assert.equal(split.frames.length, probe.packets.length, what);
        const framing = adtsFraming(config.value);
        assert.ok(framing.ok, what);
        let offset = 0;
        split.frames.forEach(({ header, payload }, i) => {
          assert.equal(Number(probe.packets[i]?.size), payload.length, `${what}: frame ${i} size`);
          const written = adtsHeader(framing.value, payload.length);
          assert.equal(toHex(written), toHex(adts.subarray(offset, offset + 7)), `${what}: frame ${i} header`);
          offset += header.frameBytes;
        });
        const fromAdts = adtsAudioSpecificConfig(split.frames[0]!.header);
        assert.ok(fromAdts.ok);
        assert.equal(toHex(fromAdts.value), toHex(asc.subarray(0, 2)), what);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ffprobe reads hand-built HE-AAC signalling in our esds at the output rate we compute",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-heaac-" });
    try {
      const { mp4 } = await encode(dir, 24000, 1);
      const file = await Deno.readFile(mp4);
      const cases = [
        { asc: "1308", name: "LC 24 kHz (no signalling)" },
        { asc: "130856e500", name: "LC with a sync extension saying no SBR" },
        { asc: "2b098800", name: "explicit SBR (object type 5)" },
        { asc: "eb098800", name: "explicit PS (object type 29)" },
        { asc: "130856e598", name: "SBR by sync extension" },
        { asc: "130856e59d4880", name: "SBR and PS by sync extensions" },
        { asc: "2b0b0800", name: "explicit SBR at the core rate (downsampled SBR)" },
      ];
      for (const { asc, name } of cases) {
        const config = parseAudioSpecificConfig(bin(asc));
        assert.ok(config.ok, name);
        const path = `${dir}/he_${asc}.mp4`;
        await Deno.writeFile(path, withEsds(file, aacEsdsBody(bin(asc))));
        const probe = await ffprobe(path);
        assert.equal(Number(probe.streams[0]?.sample_rate), config.value.sampleRateHz, name);
        assert.equal(config.value.coreSampleRateHz, 24000, name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "GStreamer voaacenc's MPEG-2 ADTS splits, and its headers re-written from the implied ASC match",
  ignore: !HAS_VOAACENC,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-voaacenc-" });
    try {
      const path = `${dir}/vo.adts`;
      await exec("gst-launch-1.0", [
        ..."-q audiotestsrc num-buffers=30 ! audio/x-raw,rate=32000,channels=2 ! voaacenc".split(" "),
        ..."! audio/mpeg,stream-format=adts ! filesink".split(" "),
        `location=${path}`,
      ]);
      const adts = await Deno.readFile(path);
      const split = splitAdts(adts);
      assert.equal(split.reason, undefined);
      assert.ok(split.frames.length >= 20, `${split.frames.length} frames`);
      const first = split.frames[0]!.header;
      assert.deepEqual([first.mpegVersion, first.objectType, first.sampleRateHz, first.channelConfiguration], [
        2,
        2,
        32000,
        2,
      ]);
      const asc = adtsAudioSpecificConfig(first);
      assert.ok(asc.ok);
      const config = parseAudioSpecificConfig(asc.value);
      assert.ok(config.ok);
      const framing = adtsFraming(config.value);
      assert.ok(framing.ok);
      let offset = 0;
      for (const { header, payload } of split.frames) {
        const written = adtsHeader(framing.value, payload.length);
        // Same fields but the ID bit (MPEG-4 in ours) and the buffer fullness voaacenc computes.
        const original = adts.slice(offset, offset + 7);
        assert.equal(toHex(written.subarray(2, 5)), toHex(original.subarray(2, 5)));
        assert.equal(written[5]! >> 5, original[5]! >> 5);
        offset += header.frameBytes;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
