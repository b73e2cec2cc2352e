/**
 * Storage path templates such as `{stream}/{yyyy}/{MM}/{dd}` or `record/{app}/{name}/{start}`: checking a template
 * once (at config time) and rendering it for a recording. Pure: times come in as values (ms since the epoch,
 * rendered in UTC). It does not decide which templates a deployment uses, create folders or check that a rendered
 * path is free.
 */

import { relativePathProblem, streamApp, streamBaseName, streamNameProblem } from "./names.ts";

/**
 * A folder template names a recording's folder; a file template its finished MP4, an FLV template its FLV file, a
 * segment template each of its MPEG-TS segments.
 */
export type TemplateKind = "folder" | "file" | "flv" | "segment";

/** What a template's placeholders stand for. */
export interface TemplateValues {
  /**
   * The stream name, `name` or `app/name`: `{stream}` is all of it, `{app}` the app ("" without one) and `{name}`
   * the name without the app.
   */
  stream: string;
  /** `{record_id}`: the recording's id, one safe path segment. */
  recordId: string;
  /** `{start}` and the date and time parts: the recording's start, ms since the epoch (rendered in UTC). */
  startMs: number;
  /** `{end}`: the recording's end, ms since the epoch; needed only by templates that use `{end}`. */
  endMs?: number;
  /** `{record_dir}`: the rendered folder template; needed only by templates that use `{record_dir}`. */
  recordDir?: string;
  /** `{seq}` and `{unix}`: a segment's number in its folder and its start, ms since the epoch; segment templates. */
  segment?: { number: number; startMs: number };
}

/** The seed's `/:streamId/YYYY/MM/DD/` layout, the same folders as `dailyRecordDir`. */
export const DEFAULT_FOLDER_TEMPLATE = "{stream}/{yyyy}/{MM}/{dd}";
/** The finished MP4 beside the recording's segments, named so that recordings of one day never collide. */
export const DEFAULT_FILE_TEMPLATE = "{record_dir}/{name}_{start}_{end}.mp4";
/** The FLV file, named as the MP4 is. */
export const DEFAULT_FLV_TEMPLATE = "{record_dir}/{name}_{start}_{end}.flv";
/** Each MPEG-TS segment, after ApsaraVideo's `{UnixTimestamp}_{Sequence}`. */
export const DEFAULT_SEGMENT_TEMPLATE = "{record_dir}/{unix}_{seq}.ts";

const PLACEHOLDERS = [
  "stream",
  "app",
  "name",
  "yyyy",
  "MM",
  "dd",
  "HH",
  "mm",
  "ss",
  "start",
  "end",
  "record_id",
  "record_dir",
  "unix",
  "seq",
] as const;
type Placeholder = typeof PLACEHOLDERS[number];

/** What each kind of template may name, and how its paths end. */
const KINDS: Record<TemplateKind, { refused: Partial<Record<Placeholder, string>>; extension?: string }> = {
  folder: {
    refused: {
      end: "a recording's folder is needed before the recording ends",
      record_dir: "it stands for the rendered folder template itself",
      unix: "it names a segment",
      seq: "it names a segment",
    },
  },
  file: { refused: { unix: "it names a segment", seq: "it names a segment" }, extension: ".mp4" },
  flv: { refused: { unix: "it names a segment", seq: "it names a segment" }, extension: ".flv" },
  segment: { refused: { end: "a segment is named before its recording ends" }, extension: ".ts" },
};

/**
 * Values that stand in for real recordings when `templateProblem` renders a template to check the result: a
 * stream with an app and one without.
 */
const SAMPLE_VALUES: readonly Required<TemplateValues>[] = ["stream", "live/stream"].map((stream) => ({
  stream,
  recordId: "20261121T100503Z-0a1b2c3d",
  startMs: Date.UTC(2026, 10, 21, 10, 5, 3),
  endMs: Date.UTC(2026, 10, 21, 11, 6, 4),
  recordDir: `${stream}/2026/11/21`,
  segment: { number: 12, startMs: Date.UTC(2026, 10, 21, 10, 6, 3) },
}));

type Part = { literal: string } | { placeholder: Placeholder };

/** The literal text and placeholders of `template`, or a message naming the first brace or placeholder fault. */
function parseTemplate(what: string, template: string): Part[] | string {
  const quoted = JSON.stringify(template);
  const parts: Part[] = [];
  let literalStart = 0;
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === "}") return `${what} ${quoted} has a "}" without a matching "{" at index ${i}`;
    if (char !== "{") continue;
    const close = template.indexOf("}", i + 1);
    const nextOpen = template.indexOf("{", i + 1);
    if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
      return `${what} ${quoted} has a "{" without a matching "}" at index ${i}`;
    }
    const name = template.slice(i + 1, close);
    if (!isPlaceholder(name)) {
      const known = PLACEHOLDERS.map((p) => `{${p}}`).join(" ");
      return `${what} ${quoted} uses unknown placeholder ${
        JSON.stringify(`{${name}}`)
      }; known placeholders are ${known}`;
    }
    if (i > literalStart) parts.push({ literal: template.slice(literalStart, i) });
    parts.push({ placeholder: name });
    i = close;
    literalStart = close + 1;
  }
  if (template.length > literalStart) parts.push({ literal: template.slice(literalStart) });
  return parts;
}

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/**
 * Why `template` cannot be used as a `kind` template, or undefined: it must be non-empty, have balanced braces,
 * use only known placeholders its kind allows (`{end}` and `{record_dir}` not in folder templates, `{unix}` and
 * `{seq}` only in segment templates), end in its kind's extension (".mp4", ".flv", ".ts"), render (with sample
 * streams with and without an app) to a valid relative storage path, and contain `{stream}`, or `{app}` and `{name}`,
 * if it is a folder template (a folder holds one stream). A segment template must also start with `{record_dir}/`,
 * as the playlist beside the segments names them relative to itself, and contain `{seq}`, which keeps the names of
 * one folder apart.
 */
export function templateProblem(template: string, kind: TemplateKind): string | undefined {
  const what = `${kind} template`;
  const quoted = JSON.stringify(template);
  if (template.length === 0) return `${what} must not be empty`;
  const parts = parseTemplate(what, template);
  if (typeof parts === "string") return parts;
  const { refused, extension } = KINDS[kind];
  for (const part of parts) {
    if (!("placeholder" in part)) continue;
    const why = refused[part.placeholder];
    if (why !== undefined) return `${what} ${quoted} must not use {${part.placeholder}}: ${why}`;
  }
  if (extension !== undefined && !template.endsWith(extension)) {
    return `${what} ${quoted} must end in ${JSON.stringify(extension)}`;
  }
  for (const sample of SAMPLE_VALUES) {
    const problem = relativePathProblem(renderParts(template, parts, sample));
    if (problem !== undefined) return `${what} ${quoted} does not render a valid relative path: ${problem}`;
  }
  const names = (p: Placeholder) => parts.some((part) => "placeholder" in part && part.placeholder === p);
  if (kind === "folder" && !names("stream") && !(names("app") && names("name"))) {
    return `${what} ${quoted} must contain {stream} (or both {app} and {name}): a folder holds one stream`;
  }
  if (kind === "segment" && !template.startsWith("{record_dir}/")) {
    return `${what} ${quoted} must start with {record_dir}/: the playlist beside the segments names them`;
  }
  if (kind === "segment" && !names("seq")) {
    return `${what} ${quoted} must contain {seq}: it keeps the segments of a folder apart`;
  }
  return undefined;
}

/**
 * Renders a template that passed `templateProblem`. Throws an Error naming the value or the rendered path when
 * a value is unusable (a stream name or id that is not one safe segment, a missing end time) or the result is
 * not a valid relative path (e.g. a long stream name makes a segment longer than the storage limit).
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const parts = parseTemplate("template", template);
  if (typeof parts === "string") throw new Error(parts);
  const path = renderParts(template, parts, values);
  const problem = relativePathProblem(path);
  if (problem !== undefined) {
    throw new Error(`template ${JSON.stringify(template)} rendered an invalid path: ${problem}`);
  }
  return path;
}

function renderParts(template: string, parts: readonly Part[], values: TemplateValues): string {
  const start = utcParts(values.startMs);
  let path = "";
  for (const part of parts) {
    path += "literal" in part ? part.literal : placeholderValue(template, part.placeholder, values, start);
  }
  // `{app}` of a stream without an app is empty; the folder level it would have named is left out.
  if (streamApp(values.stream) === "" && parts.some((part) => "placeholder" in part && part.placeholder === "app")) {
    path = path.split("/").filter((segment) => segment !== "").join("/");
  }
  return path;
}

function placeholderValue(template: string, placeholder: Placeholder, values: TemplateValues, start: UtcParts): string {
  const fail = (message: string) => new Error(`template ${JSON.stringify(template)}: {${placeholder}} ${message}`);
  switch (placeholder) {
    case "stream": {
      const problem = streamNameProblem(values.stream);
      if (problem !== undefined) throw fail(`value is not usable: ${problem}`);
      return values.stream;
    }
    case "app":
    case "name": {
      const problem = streamNameProblem(values.stream);
      if (problem !== undefined) throw fail(`value is not usable: ${problem}`);
      return placeholder === "app" ? streamApp(values.stream) : streamBaseName(values.stream);
    }
    case "record_id": {
      const problem = values.recordId.includes("/")
        ? `record id ${JSON.stringify(values.recordId)} must not contain "/"`
        : relativePathProblem(values.recordId);
      if (problem !== undefined) throw fail(`value is not usable: ${problem}`);
      return values.recordId;
    }
    case "record_dir": {
      if (values.recordDir === undefined) throw fail("needs a recordDir value");
      const problem = relativePathProblem(values.recordDir);
      if (problem !== undefined) throw fail(`value is not usable: ${problem}`);
      return values.recordDir;
    }
    case "yyyy":
    case "MM":
    case "dd":
    case "HH":
    case "mm":
    case "ss":
      return start[placeholder];
    case "start":
      return formatEscaped(start);
    case "end":
      if (values.endMs === undefined) throw fail("needs an endMs value");
      return escapedTime(values.endMs);
    case "unix":
    case "seq": {
      if (values.segment === undefined) throw fail("needs a segment value");
      const { number, startMs } = values.segment;
      return String(placeholder === "seq" ? number : Math.floor(startMs / 1000));
    }
  }
}

interface UtcParts {
  yyyy: string;
  MM: string;
  dd: string;
  HH: string;
  mm: string;
  ss: string;
}

/** The zero-padded UTC parts of `ms`, padded exactly as `dailyRecordDir` pads them. */
function utcParts(ms: number): UtcParts {
  if (!Number.isFinite(ms)) throw new RangeError(`time must be a finite number of ms, got ${ms}`);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`time ${ms} ms is outside the range of Date`);
  const pad2 = (n: number) => String(n).padStart(2, "0");
  return {
    yyyy: String(date.getUTCFullYear()).padStart(4, "0"),
    MM: pad2(date.getUTCMonth() + 1),
    dd: pad2(date.getUTCDate()),
    HH: pad2(date.getUTCHours()),
    mm: pad2(date.getUTCMinutes()),
    ss: pad2(date.getUTCSeconds()),
  };
}

function formatEscaped(p: UtcParts): string {
  return `${p.yyyy}-${p.MM}-${p.dd}T${p.HH}-${p.mm}-${p.ss}Z`;
}

/** `ms` (since the epoch) as a path-safe UTC time to the second, e.g. `2026-11-21T10-05-03Z` (ISO 8601, ":" as "-"). */
export function escapedTime(ms: number): string {
  return formatEscaped(utcParts(ms));
}
