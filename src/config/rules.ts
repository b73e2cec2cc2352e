/**
 * Recording rules: parsing `[[recorder.rules]]` into validated, fully defaulted RecordRules, and choosing the rule
 * that applies to a stream (the most specific match wins). Pure: nothing here asks the on-demand callback or starts
 * a recording.
 */

import { isHttpUrl } from "./checks.ts";
import { relativePathProblem, streamPatternMatches, streamPatternProblem } from "./names.ts";
import {
  DEFAULT_FILE_TEMPLATE,
  DEFAULT_FLV_TEMPLATE,
  DEFAULT_FOLDER_TEMPLATE,
  DEFAULT_SEGMENT_TEMPLATE,
  type TemplateKind,
  templateProblem,
} from "./path_template.ts";
import { describe, isTable, Section } from "./section.ts";

/** Whether a matching stream is recorded: always, never, or as the on-demand callback decides. */
export type RecordMode = "always" | "never" | "on_demand";

/**
 * An output of a recording: DASH (MPD + fMP4 segments), HLS playlists over the same segments, HLS over MPEG-TS
 * segments cut at the same points, one FLV file written as the recording goes, or a final MP4.
 */
export type RecordFormat = "dash" | "hls" | "ts" | "flv" | "mp4";

/** Settings every rule resolves to (defaults filled in). */
export interface RuleSettings {
  /** Target media duration of one segment, in seconds. */
  segmentDurationS: number;
  /** Longest recording, in seconds; a recording reaching it rotates into a new one. */
  recordPeriodS: number;
  /** A republish within this many seconds of the end continues the previous recording; 0 = no splicing. */
  spliceWindowS: number;
  /** A publisher's own end (WHIP DELETE) opens the splice window too, as an interruption does (seed 004). */
  spliceOnUnpublish: boolean;
  /** Record folder template, relative to the storage root (and `prefix`). */
  pathTemplate: string;
  /** Object path template of the final MP4 (used when `formats` has "mp4"). */
  mp4Template: string;
  /** Object path template of the FLV file (used when `formats` has "flv"). */
  flvTemplate: string;
  /** Object path template of each MPEG-TS segment (used when `formats` has "ts"). */
  tsTemplate: string;
  /** Storage prefix prepended to the rendered folder, or undefined for none. */
  prefix: string | undefined;
  /** Outputs to write; always has "dash" (the API and crash recovery read the MPD), never a duplicate. */
  formats: RecordFormat[];
  /** Finished recordings older than this many days are deleted; undefined: kept (unless a retention limit needs it). */
  retainDays: number | undefined;
}

/** How to ask the on-demand callback (see src/recorder/on_demand.ts for the protocol). */
export interface OnDemand {
  /** The http:// or https:// URL the question is POSTed to. */
  url: string;
  /** How long to wait for the whole answer, in milliseconds. */
  timeoutMs: number;
  /** What to do when the callback fails (timeout, error status, malformed answer). */
  fallback: "record" | "skip";
}

/** One recording rule, validated and with every setting resolved. */
export interface RecordRule {
  /** Stream pattern: an exact name, a wildcard with `*`, or "*". */
  match: string;
  mode: RecordMode;
  settings: RuleSettings;
  /** Present exactly when `mode` is "on_demand". */
  onDemand: OnDemand | undefined;
  /** Where it came from, for logs and the API: "recorder.rules[2]" or "recorder.auto_streams[0]". */
  source: string;
}

/** Allowed range of each numeric setting, by its TOML key (which is also its name in the on-demand answer). */
const SETTING_RANGES = {
  segment_duration: { min: 1, max: 30 },
  record_period: { min: 5, max: 604_800 },
  splice_window: { min: 0, max: 21_600 },
} as const;

/** A numeric setting's key in the TOML file and in the on-demand answer. */
export type NumericSettingKey = keyof typeof SETTING_RANGES;

/** Why `value` is not allowed for the numeric setting `key`, or undefined; the message names the value. */
export function settingRangeProblem(key: NumericSettingKey, value: unknown): string | undefined {
  const { min, max } = SETTING_RANGES[key];
  if (typeof value === "number" && value >= min && value <= max) return undefined;
  return `must be between ${min} and ${max} seconds, got ${describe(value)}`;
}

/** live777's `max_recording_seconds` default: one recording per day. */
const DEFAULT_RECORD_PERIOD_S = 86_400;
/** ApsaraVideo Live's default splice window (180 s). */
const DEFAULT_SPLICE_WINDOW_S = 180;
const DEFAULT_FORMATS: readonly RecordFormat[] = ["dash", "hls"];
const DEFAULT_ON_DEMAND_TIMEOUT_S = 3;
const MIN_ON_DEMAND_TIMEOUT_S = 0.1;
const MAX_ON_DEMAND_TIMEOUT_S = 30;

const RECORD_MODES: readonly RecordMode[] = ["always", "never", "on_demand"];
const RECORD_FORMATS: readonly RecordFormat[] = ["dash", "hls", "ts", "flv", "mp4"];
const FALLBACKS: readonly OnDemand["fallback"][] = ["record", "skip"];
const ON_DEMAND_KEYS = ["on_demand_url", "on_demand_timeout", "on_demand_fallback"] as const;
const RULE_KEYS = [
  "match",
  "record",
  "segment_duration",
  "record_period",
  "splice_window",
  "splice_on_unpublish",
  "path_template",
  "mp4_template",
  "flv_template",
  "ts_template",
  "prefix",
  "formats",
  "retain_days",
  ...ON_DEMAND_KEYS,
] as const;
/** Longest retain_days: 100 years. */
const MAX_RETAIN_DAYS = 36_500;

/**
 * The settings of a rule that sets nothing: the built-in defaults with the `[recorder]` segment duration and
 * splice_on_unpublish.
 */
export function defaultRuleSettings(segmentDurationS: number, spliceOnUnpublish = true): RuleSettings {
  return {
    segmentDurationS,
    recordPeriodS: DEFAULT_RECORD_PERIOD_S,
    spliceWindowS: DEFAULT_SPLICE_WINDOW_S,
    spliceOnUnpublish,
    pathTemplate: DEFAULT_FOLDER_TEMPLATE,
    mp4Template: DEFAULT_FILE_TEMPLATE,
    flvTemplate: DEFAULT_FLV_TEMPLATE,
    tsTemplate: DEFAULT_SEGMENT_TEMPLATE,
    prefix: undefined,
    formats: [...DEFAULT_FORMATS],
    retainDays: undefined,
  };
}

/**
 * Parses `recorder.rules` (an array of tables, `[[recorder.rules]]`), in file order; absent means none. What a
 * rule does not set comes from `defaults` (see defaultRuleSettings).
 * Throws ConfigError naming the dotted key, e.g. `recorder.rules[2].record_period`.
 */
export function parseRules(recorder: Section, defaults: RuleSettings): RecordRule[] {
  const items = recorder.array("rules") ?? [];
  const rules: RecordRule[] = [];
  items.forEach((item, i) => {
    const key = `rules[${i}]`;
    if (!isTable(item)) {
      throw recorder.error(key, `must be a table ([[recorder.rules]]), got ${describe(item)}`);
    }
    const rule = parseRule(new Section(recorder.keyPath(key), item), defaults);
    const first = rules.find((earlier) => earlier.match === rule.match);
    if (first !== undefined) {
      throw recorder.error(
        `${key}.match`,
        `repeats ${describe(rule.match)} from ${first.source}; each pattern may have only one rule`,
      );
    }
    rules.push(rule);
  });
  return rules;
}

function parseRule(section: Section, defaults: RuleSettings): RecordRule {
  section.rejectUnknownKeys(RULE_KEYS);
  const match = section.string("match");
  if (match === undefined) throw section.error("match", 'is required (a stream name, a pattern with "*", or "*")');
  const problem = streamPatternProblem(match);
  if (problem !== undefined) throw section.error("match", `is invalid: ${problem}`);
  const mode = oneOf(section, "record", RECORD_MODES) ?? "always";
  return {
    match,
    mode,
    settings: parseSettings(section, defaults),
    onDemand: parseOnDemand(section, mode),
    source: section.path,
  };
}

function parseSettings(section: Section, defaults: RuleSettings): RuleSettings {
  const prefix = section.string("prefix");
  if (prefix !== undefined) {
    const problem = relativePathProblem(prefix);
    if (problem !== undefined) throw section.error("prefix", `is invalid: ${problem}`);
  }
  return {
    segmentDurationS: rangedNumber(section, "segment_duration") ?? defaults.segmentDurationS,
    recordPeriodS: rangedNumber(section, "record_period") ?? defaults.recordPeriodS,
    spliceWindowS: rangedNumber(section, "splice_window") ?? defaults.spliceWindowS,
    spliceOnUnpublish: section.boolean("splice_on_unpublish") ?? defaults.spliceOnUnpublish,
    pathTemplate: template(section, "path_template") ?? defaults.pathTemplate,
    mp4Template: template(section, "mp4_template") ?? defaults.mp4Template,
    flvTemplate: template(section, "flv_template") ?? defaults.flvTemplate,
    tsTemplate: template(section, "ts_template") ?? defaults.tsTemplate,
    prefix,
    formats: parseFormats(section) ?? defaults.formats,
    retainDays: retainDays(section) ?? defaults.retainDays,
  };
}

/** `retain_days`: more than 0 days (fractions allowed), 100 years at most. */
function retainDays(section: Section): number | undefined {
  const days = section.number("retain_days");
  if (days === undefined) return undefined;
  if (!(days > 0 && days <= MAX_RETAIN_DAYS)) {
    throw section.error(
      "retain_days",
      `must be more than 0 and at most ${MAX_RETAIN_DAYS} days, got ${describe(days)}`,
    );
  }
  return days;
}

function rangedNumber(section: Section, key: NumericSettingKey): number | undefined {
  const value = section.number(key);
  if (value === undefined) return undefined;
  const problem = settingRangeProblem(key, value);
  if (problem !== undefined) throw section.error(key, problem);
  return value;
}

/** What each template key names. */
const TEMPLATE_KINDS = {
  path_template: "folder",
  mp4_template: "file",
  flv_template: "flv",
  ts_template: "segment",
} as const satisfies Record<string, TemplateKind>;

/** `path_template` names a recording's folder, the others its files (see TEMPLATE_KINDS). */
function template(section: Section, key: keyof typeof TEMPLATE_KINDS): string | undefined {
  const value = section.string(key);
  if (value === undefined) return undefined;
  const problem = templateProblem(value, TEMPLATE_KINDS[key]);
  if (problem !== undefined) throw section.error(key, `is invalid: ${problem}`);
  return value;
}

function parseFormats(section: Section): RecordFormat[] | undefined {
  const items = section.stringArray("formats");
  if (items === undefined) return undefined;
  const formats: RecordFormat[] = [];
  items.forEach((item, i) => {
    const format = RECORD_FORMATS.find((known) => known === item);
    if (format === undefined) {
      throw section.error(`formats[${i}]`, `must be one of ${quotedList(RECORD_FORMATS)}, got ${describe(item)}`);
    }
    if (formats.includes(format)) throw section.error(`formats[${i}]`, `repeats ${describe(item)}`);
    formats.push(format);
  });
  if (!formats.includes("dash")) {
    throw section.error(
      "formats",
      `must include "dash" (the API and crash recovery read the MPD), got ${describe(items)}`,
    );
  }
  return formats;
}

function parseOnDemand(section: Section, mode: RecordMode): OnDemand | undefined {
  if (mode !== "on_demand") {
    const stray = ON_DEMAND_KEYS.find((key) => section.has(key));
    if (stray !== undefined) {
      throw section.error(stray, `is only allowed with record = "on_demand", got record = ${describe(mode)}`);
    }
    return undefined;
  }
  const url = section.string("on_demand_url");
  if (url === undefined) throw section.error("on_demand_url", 'is required with record = "on_demand"');
  if (!isHttpUrl(url)) throw section.error("on_demand_url", `must be an http:// or https:// URL, got ${describe(url)}`);
  const timeoutS = section.number("on_demand_timeout") ?? DEFAULT_ON_DEMAND_TIMEOUT_S;
  if (!(timeoutS >= MIN_ON_DEMAND_TIMEOUT_S && timeoutS <= MAX_ON_DEMAND_TIMEOUT_S)) {
    throw section.error(
      "on_demand_timeout",
      `must be between ${MIN_ON_DEMAND_TIMEOUT_S} and ${MAX_ON_DEMAND_TIMEOUT_S} seconds, got ${describe(timeoutS)}`,
    );
  }
  return {
    url,
    timeoutMs: Math.round(timeoutS * 1000),
    fallback: oneOf(section, "on_demand_fallback", FALLBACKS) ?? "skip",
  };
}

/** The string at `key` when it is one of `allowed`, or undefined when absent. */
function oneOf<T extends string>(section: Section, key: string, allowed: readonly T[]): T | undefined {
  const value = section.string(key);
  if (value === undefined) return undefined;
  const found = allowed.find((option) => option === value);
  if (found === undefined) throw section.error(key, `must be one of ${quotedList(allowed)}, got ${describe(value)}`);
  return found;
}

function quotedList(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

/** One "always" rule per `recorder.auto_streams` pattern, with `defaults` as settings; pass them after parseRules'. */
export function autoStreamRules(patterns: readonly string[], defaults: RuleSettings): RecordRule[] {
  return patterns.map((match, i) => ({
    match,
    mode: "always",
    settings: { ...defaults, formats: [...defaults.formats] },
    onDemand: undefined,
    source: `recorder.auto_streams[${i}]`,
  }));
}

/** 0 = exact (no "*"), 1 = wildcard other than "*", 2 = "*" alone (only stars). Lower is more specific. */
export function specificity(pattern: string): number {
  if (!pattern.includes("*")) return 0;
  return literalLength(pattern) === 0 ? 2 : 1;
}

/** The number of characters of `pattern` that are not `*`. */
function literalLength(pattern: string): number {
  let count = 0;
  for (const char of pattern) if (char !== "*") count++;
  return count;
}

/**
 * The most specific rule matching `stream`, or undefined: exact beats wildcard beats "*"; among wildcards the
 * one with more literal characters wins; remaining ties go to the earlier rule.
 */
export function resolveRule(rules: readonly RecordRule[], stream: string): RecordRule | undefined {
  let best: RecordRule | undefined;
  let bestRank = 0;
  let bestLiterals = 0;
  for (const rule of rules) {
    if (!streamPatternMatches(rule.match, stream)) continue;
    const rank = specificity(rule.match);
    const literals = literalLength(rule.match);
    if (best === undefined || rank < bestRank || (rank === bestRank && literals > bestLiterals)) {
      best = rule;
      bestRank = rank;
      bestLiterals = literals;
    }
  }
  return best;
}
