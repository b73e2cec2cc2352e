/** ffprobe and ffmpeg, run on recorded files, as independent judges of what liverec wrote. */

export interface ProbeStream {
  codec_type: string;
  codec_name: string;
  nb_read_frames?: string;
  duration?: string;
  width?: number;
  height?: number;
}

/** Runs a command and returns its exit code, stdout and stderr. */
export async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** `ffmpeg -v error -i input -f null -`: decodes everything; returns what ffmpeg complained about. */
export async function decodeErrors(input: string): Promise<string> {
  // `-enc_time_base:v -1` keeps the input's time base: a live source's frames can come closer together than the
  // frame rate ffmpeg guesses, and rounding them to that rate makes the null muxer report timestamps that are not
  // in the recording. Equal or falling timestamps in the input are still reported.
  const args = ["-nostdin", "-v", "error", "-i", input, "-enc_time_base:v", "-1", "-f", "null", "-"];
  const { stderr } = await run("ffmpeg", args);
  return stderr.trim();
}

/** Streams with decoded frame counts, and the container duration in seconds. */
export async function probe(input: string): Promise<{ streams: ProbeStream[]; durationS: number }> {
  const { code, stdout, stderr } = await run("ffprobe", [
    "-v",
    "error",
    "-count_frames",
    "-show_entries",
    "stream=codec_type,codec_name,nb_read_frames,duration,width,height:format=duration",
    "-of",
    "json",
    input,
  ]);
  if (code !== 0) throw new Error(`ffprobe ${input} failed: ${stderr}`);
  const json = JSON.parse(stdout) as { streams: ProbeStream[]; format: { duration?: string } };
  return { streams: json.streams, durationS: Number(json.format.duration ?? "NaN") };
}

/**
 * Times (s) of the test clip's sync marks in a recording: white video frames (luma average above 200) and the
 * starts of beeps (ends of silence). The clip puts one of each at the start of every second.
 */
export async function syncMarks(input: string): Promise<{ flashesS: number[]; beepsS: number[] }> {
  const { stdout, stderr } = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "info",
    "-i",
    input,
    "-vf",
    "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
    "-af",
    "silencedetect=n=-30dB:d=0.05",
    "-f",
    "null",
    "-",
  ]);
  const flashesS: number[] = [];
  let frameTime = NaN;
  for (const line of stdout.split("\n")) {
    const frame = /pts_time:([\d.]+)/.exec(line);
    if (frame !== null) frameTime = Number(frame[1]);
    const yavg = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(line);
    if (yavg !== null && Number(yavg[1]) > 200) flashesS.push(frameTime);
  }
  const beepsS = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  return { flashesS, beepsS };
}

/**
 * Each Period of a DASH manifest on disk as plain fMP4 files (init + segments joined), one per track, so that
 * ffmpeg can judge every period: its DASH demuxer plays only one period of a multi-period manifest.
 */
export async function periodFiles(mpdPath: string): Promise<{ video?: string; audio?: string }[]> {
  const dir = mpdPath.slice(0, mpdPath.lastIndexOf("/"));
  const out = await Deno.makeTempDir({ prefix: "liverec-periods-" });
  const mpd = await Deno.readTextFile(mpdPath);
  const periods: { video?: string; audio?: string }[] = [];
  for (const [p, period] of mpd.split("<Period ").slice(1).entries()) {
    const files: { video?: string; audio?: string } = {};
    for (const set of period.split("<AdaptationSet ").slice(1)) {
      const kind = /contentType="(video|audio)"/.exec(set)?.[1] as "video" | "audio";
      const init = /initialization="([^"]+)"/.exec(set)![1]!;
      const media = /media="([^"]+)"/.exec(set)![1]!;
      const startNumber = Number(/startNumber="(\d+)"/.exec(set)![1]);
      const count = [...set.matchAll(/<S ([^>]*)\/>/g)]
        .reduce((n, m) => n + 1 + Number(/\br="(\d+)"/.exec(m[1]!)?.[1] ?? 0), 0);
      const parts = [await Deno.readFile(`${dir}/${init}`)];
      for (let n = startNumber; n < startNumber + count; n++) {
        parts.push(await Deno.readFile(`${dir}/${media.replace("$Number%04d$", String(n).padStart(4, "0"))}`));
      }
      const path = `${out}/period${p + 1}_${kind}.mp4`;
      await Deno.writeFile(path, new Uint8Array(parts.flatMap((part) => [...part])));
      files[kind] = path;
    }
    periods.push(files);
  }
  return periods;
}
