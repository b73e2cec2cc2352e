/**
 * Audio/video sync of a recording of the test clip, judged by ffmpeg: the clip shows a white frame and starts a beep
 * at the start of every second, and a recording must keep each beep where the clip has it, to within one video
 * frame.
 */

import { join } from "node:path";
import { CLIP_PATH } from "../../scripts/clip.ts";
import { run, syncMarks } from "./media_tools.ts";

/** One video frame of the clip (30 fps): how far a recording may move audio against video. */
const TOLERANCE_S = 1 / 30;

/** A flash in a recording and how long after it the nearest beep starts. */
interface Mark {
  flashS: number;
  offsetS: number;
}

/** The marks of `input`; a flash shown on consecutive frames (a capture repeating a frame) counts from its first. */
async function marks(input: string): Promise<Mark[]> {
  const { flashesS: framesS, beepsS } = await syncMarks(input);
  const flashesS = framesS.filter((frameS, i) => i === 0 || frameS - framesS[i - 1]! > 0.2);
  return flashesS.map((flashS) => {
    const beep = beepsS.reduce((best, b) => Math.abs(b - flashS) < Math.abs(best - flashS) ? b : best, Infinity);
    return { flashS, offsetS: beep - flashS };
  });
}

let clipMarks: Promise<Mark[]> | undefined;

/**
 * The clip's own marks, looped three times as publishers loop it, so that every second of the loop has one. The clip
 * puts each beep 2.7 to 15 ms after its flash, depending on the second. A beep at time 0 is not found (no silence ends
 * there), so the first second does not count.
 */
function clipOffsets(): Promise<Mark[]> {
  clipMarks ??= (async () => {
    const out = join(await Deno.makeTempDir({ prefix: "liverec-loop-" }), "loop.mp4");
    const { code, stderr } = await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-stream_loop",
      "2",
      "-i",
      CLIP_PATH.pathname,
      "-c",
      "copy",
      out,
    ]);
    if (code !== 0) throw new Error(`ffmpeg could not loop the clip: ${stderr}`);
    return (await marks(out)).filter((mark) => mark.flashS > 0.5);
  })();
  return clipMarks;
}

/**
 * What is out of sync in `recording`, a recording of the looped clip; empty when every beep is within one video
 * frame of where the clip has it. With `clipDurationS`, the recording starts where the clip starts (the publisher
 * sends it from its first frame), so each mark is compared with the same second of the clip; without, the loop's
 * phase is unknown and each mark must lie within one frame of the clip's range of offsets. Fewer than `minMarks`
 * marks found is an error too. Marks before `fromS` are not judged.
 */
export async function syncErrors(
  recording: string,
  opts: { minMarks: number; clipDurationS?: number; fromS?: number },
): Promise<string[]> {
  const source = await clipOffsets();
  const recorded = (await marks(recording)).filter((mark) => mark.flashS > Math.max(0.5, opts.fromS ?? 0));
  if (recorded.length < opts.minMarks) {
    return [`only ${recorded.length} sync marks found, at ${recorded.map((mark) => mark.flashS)} s`];
  }
  const errors: string[] = [];
  for (const { flashS, offsetS } of recorded) {
    let expected = source.map((mark) => mark.offsetS);
    if (opts.clipDurationS !== undefined) {
      const second = Math.round(flashS) % opts.clipDurationS;
      expected = source.filter((mark) => Math.round(mark.flashS) % opts.clipDurationS! === second)
        .map((mark) => mark.offsetS);
    }
    const lowS = Math.min(...expected) - TOLERANCE_S;
    const highS = Math.max(...expected) + TOLERANCE_S;
    if (!(offsetS >= lowS && offsetS <= highS)) {
      errors.push(
        `at ${flashS} s the beep follows the flash by ${offsetS.toFixed(4)} s; the clip allows ` +
          `${lowS.toFixed(4)} to ${highS.toFixed(4)} s`,
      );
    }
  }
  return errors;
}

/** The median time from flash to beep in `input` (a recording of the looped clip, from its second second on). */
export async function medianSyncS(input: string): Promise<number> {
  const offsets = (await marks(input)).filter((mark) => mark.flashS > 0.5).map((mark) => mark.offsetS);
  if (offsets.length === 0) throw new Error(`no sync marks in ${input}`);
  offsets.sort((a, b) => a - b);
  return offsets[Math.floor(offsets.length / 2)]!;
}
