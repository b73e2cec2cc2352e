/**
 * libmp3lame (through ffmpeg) as the judge: its MP3 streams (MPEG-1, MPEG-2 and MPEG-2.5 rates, CBR and VBR) split
 * into exactly the frames ffprobe counts, with the rates and channels it reports, and our esds equals the one ffmpeg's
 * mp4 muxer writes for the same stream. Skipped with a warning where ffmpeg or libmp3lame is missing.
 */

import assert from "node:assert/strict";
import { toHex } from "../../shared/testing.ts";
import { parseEsds } from "../aac/esds.ts";
import { esdsOf, exec, ffprobe, hasCommand } from "../aac/testing.ts";
import { mp3EsdsBody, splitMp3 } from "./frame_header.ts";

async function hasLame(): Promise<boolean> {
  if (!hasCommand("ffmpeg") || !hasCommand("ffprobe")) return false;
  return (await exec("ffmpeg", ["-hide_banner", "-encoders"])).includes("libmp3lame");
}
const HAS_LAME = await hasLame();
if (!HAS_LAME) console.warn("SKIPPING MP3 ffmpeg tests: ffmpeg with libmp3lame not found");

Deno.test({
  name: "libmp3lame streams split into ffprobe's frames, and our esds equals ffmpeg's mp4 muxer's",
  ignore: !HAS_LAME,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-mp3-" });
    try {
      const cases = [
        { rateHz: 44100, channels: 2, rate: ["-b:a", "128k"], version: 1, oti: 0x6b, codecs: "mp4a.6B" },
        { rateHz: 48000, channels: 1, rate: ["-q:a", "2"], version: 1, oti: 0x6b, codecs: "mp4a.6B" },
        { rateHz: 22050, channels: 1, rate: ["-b:a", "32k"], version: 2, oti: 0x69, codecs: "mp4a.69" },
        { rateHz: 8000, channels: 2, rate: ["-b:a", "16k"], version: 2.5, oti: 0x69, codecs: "mp4a.69" },
      ];
      for (const { rateHz, channels, rate, version, oti, codecs } of cases) {
        const what = `${rateHz} Hz, ${channels} channels`;
        const mp3Path = `${dir}/${rateHz}_${channels}.mp3`;
        const mp4Path = `${dir}/${rateHz}_${channels}.mp4`;
        await exec("ffmpeg", [
          ...["-v", "error", "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=${rateHz}`, "-t", "1"],
          ...["-ac", String(channels), "-c:a", "libmp3lame", ...rate, "-write_xing", "0", "-id3v2_version", "0"],
          mp3Path,
        ]);
        // MPEG-2.5 in MP4 is outside the standard; ffmpeg writes it (as 0x69) only when told to.
        await exec("ffmpeg", ["-v", "error", "-i", mp3Path, "-c", "copy", "-strict", "-1", mp4Path]);
        const stream = await Deno.readFile(mp3Path);
        const split = splitMp3(stream);
        assert.equal(split.reason, undefined, what);
        assert.equal(split.frames.reduce((sum, f) => sum + f.data.length, 0), stream.length, what);

        const probe = await ffprobe(mp3Path);
        assert.equal(split.frames.length, probe.packets.length, what);
        split.frames.forEach((frame, i) => assert.equal(frame.data.length, Number(probe.packets[i]?.size), what));
        const header = split.frames[0]!.header;
        assert.deepEqual(
          [header.sampleRateHz, header.channels, header.version, header.objectTypeIndication, header.codecs],
          [Number(probe.streams[0]?.sample_rate), probe.streams[0]?.channels, version, oti, codecs],
          what,
        );
        assert.equal(header.samplesPerFrame, version === 1 ? 1152 : 576);

        const ffmpegEsds = esdsOf(await Deno.readFile(mp4Path));
        const parsed = parseEsds(ffmpegEsds);
        assert.ok(parsed.ok, what);
        assert.equal(parsed.value.objectTypeIndication, oti, what);
        assert.equal(parsed.value.decoderSpecificInfo, undefined, what);
        const theirs = ffmpegEsds.slice();
        theirs.set([0, 0], 9); // ffmpeg writes the track ID as ES_ID; a file stores 0
        assert.equal(toHex(mp3EsdsBody(header, parsed.value)), toHex(theirs), what);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
