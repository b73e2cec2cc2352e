/** Command-line flags of `deno task bench`, with their defaults; it parses and validates, nothing else. */

export interface BenchFlags {
  streams: number;
  /** Concurrent ffmpeg publishers of the second RTMP run. */
  rtmpStreams: number;
  seconds: number;
  remuxSeconds: number;
  remuxRuns: number;
  segmentDurationS: number;
  /** Segments per stream of each durability run. */
  durabilitySegments: number;
  /** Wall time between two segments of one stream in the durability runs (real time: the segment duration). */
  durabilityIntervalMs: number;
  remux: boolean;
  durability: boolean;
  e2e: boolean;
  rtmp: boolean;
  /** Path of the service CPU profile of the last end-to-end run, when profiling. */
  profilePath: string | undefined;
  /** A compiled liverec binary to measure instead of `deno run main.ts`. */
  binary: string | undefined;
  jsonPath: string | undefined;
  keep: boolean;
}

export const USAGE = `usage: deno task bench [flags]

  --streams N           concurrent publishers of the second end-to-end run (default 4; the first run is always 1)
  --rtmp-streams N      concurrent ffmpeg publishers of the second RTMP run (default 8; the first run is always 1)
  --seconds S           media seconds per end-to-end run, WHIP and RTMP (default 60)
  --quick               15 s end-to-end runs, 3 remux runs, 10 segments per durability run (explicit flags still win)
  --remux-seconds S     media seconds of the looped clip fed to the remux core (default 60)
  --remux-runs N        timed remux runs after one warm-up run (default 5)
  --segment-duration S  segment duration of the pipeline and the service, in seconds (default 6)
  --durability-segments N
                        segments per stream of each durability run (default 40)
  --durability-interval MS
                        ms between two segments of a stream in the durability runs (default 500: 12x real time
                        for 6 s segments; 6000 is real time)
  --no-remux            skip the remux-core benchmark
  --no-durability       skip the durability runs (segment close -> durable on fs and on S3 via s3rver)
  --no-e2e              skip the end-to-end WHIP runs
  --no-rtmp             skip the end-to-end RTMP runs (ffmpeg pushing a 720p30 H.264 + AAC clip)
  --only PART[,PART]    run only these parts: remux, durability, e2e (WHIP), rtmp; e.g. --only rtmp
  --profile [PATH]      CPU-profile the service during the last end-to-end run over the V8 inspector, list its
                        hotspots and write the .cpuprofile to PATH (default: $TMPDIR/liverec-bench-service.cpuprofile)
  --binary PATH         measure this compiled liverec (deno task compile) instead of deno running main.ts
  --json PATH           also write the JSON summary to PATH
  --keep                keep the temp dir (configs and recordings) and print its path
  --help                this text`;

/** The flags that take a number: the field each sets, and what it accepts. */
const NUMBER_FLAGS: Record<string, { field: NumberField; min: number; max: number; integer: boolean }> = {
  "--streams": { field: "streams", min: 1, max: 64, integer: true },
  "--rtmp-streams": { field: "rtmpStreams", min: 1, max: 64, integer: true },
  "--seconds": { field: "seconds", min: 1, max: 3600, integer: false },
  "--remux-seconds": { field: "remuxSeconds", min: 1, max: 3600, integer: false },
  "--remux-runs": { field: "remuxRuns", min: 1, max: 100, integer: true },
  "--segment-duration": { field: "segmentDurationS", min: 1, max: 30, integer: true },
  "--durability-segments": { field: "durabilitySegments", min: 1, max: 10_000, integer: true },
  "--durability-interval": { field: "durabilityIntervalMs", min: 6, max: 60_000, integer: false },
};
type NumberField = { [K in keyof BenchFlags]: BenchFlags[K] extends number ? K : never }[keyof BenchFlags];

/** The parts of the benchmark, each on unless turned off. */
const PARTS = ["remux", "durability", "e2e", "rtmp"] as const;
type Part = typeof PARTS[number];

/** The flags that turn a part of the benchmark off. */
const SKIP_FLAGS: Record<string, Part> = {
  "--no-remux": "remux",
  "--no-durability": "durability",
  "--no-e2e": "e2e",
  "--no-rtmp": "rtmp",
};

/** Parses `args`; throws an Error naming the offending flag. */
export function parseFlags(args: readonly string[]): BenchFlags {
  const quick = args.includes("--quick");
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const flags: BenchFlags = {
    streams: 4,
    rtmpStreams: 8,
    seconds: quick ? 15 : 60,
    remuxSeconds: 60,
    remuxRuns: quick ? 3 : 5,
    segmentDurationS: 6,
    durabilitySegments: quick ? 10 : 40,
    durabilityIntervalMs: 500,
    remux: true,
    durability: true,
    e2e: true,
    rtmp: true,
    profilePath: undefined,
    binary: undefined,
    jsonPath: undefined,
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    const numeric = Object.hasOwn(NUMBER_FLAGS, arg) ? NUMBER_FLAGS[arg] : undefined;
    if (numeric !== undefined) {
      const { field, min, max, integer } = numeric;
      const text = value();
      const n = Number(text);
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw new Error(`${arg} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${text}`);
      }
      flags[field] = n;
      continue;
    }
    const skipped = Object.hasOwn(SKIP_FLAGS, arg) ? SKIP_FLAGS[arg] : undefined;
    if (skipped !== undefined) {
      flags[skipped] = false;
      continue;
    }
    switch (arg) {
      case "--quick":
        break;
      case "--profile": {
        const next = args[i + 1];
        flags.profilePath = next !== undefined && !next.startsWith("--")
          ? args[++i]
          : `${tmp}/liverec-bench-service.cpuprofile`;
        break;
      }
      case "--only": {
        const parts = value().split(",");
        const unknown = parts.filter((part) => !(PARTS as readonly string[]).includes(part));
        if (unknown.length > 0) throw new Error(`--only takes ${PARTS.join(", ")}; got ${unknown.join(", ")}`);
        for (const part of PARTS) flags[part] = parts.includes(part);
        break;
      }
      case "--json":
        flags.jsonPath = value();
        break;
      case "--binary":
        flags.binary = value();
        break;
      case "--keep":
        flags.keep = true;
        break;
      default:
        throw new Error(`unknown flag ${arg}`);
    }
  }
  if (flags.binary !== undefined && flags.profilePath !== undefined) {
    throw new Error("--profile needs deno, not --binary");
  }
  return flags;
}
