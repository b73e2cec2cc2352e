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
  const { stderr } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", input, "-f", "null", "-"]);
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
