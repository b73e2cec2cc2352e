/**
 * Storage path templates such as `{stream}/{yyyy}/{MM}/{dd}` or `record/{app}/{name}/{start}`: checking a template
 * once (at config time) and rendering it for a recording. Pure: times come in as values (ms since the epoch,
 * rendered in UTC). It does not decide which templates a deployment uses, create folders or check that a rendered
 * path is free.
 */

import { relativePathProblem, streamApp, streamBaseName, streamNameProblem } from "./names.ts";

/** A folder template names a recording's folder; a file template names its finished MP4. */
export type TemplateKind = "folder" | "file";

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
}

/** The seed's `/:streamId/YYYY/MM/DD/` layout, the same folders as `dailyRecordDir`. */
export const DEFAULT_FOLDER_TEMPLATE = "{stream}/{yyyy}/{MM}/{dd}";
/** The finished MP4 beside the recording's segments, named so that recordings of one day never collide. */
export const DEFAULT_FILE_TEMPLATE = "{record_dir}/{name}_{start}_{end}.mp4";

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
] as const;
type Placeholder = typeof PLACEHOLDERS[number];

/** Placeholders a folder template may not use, and why: the folder is created when the recording starts. */
const FILE_ONLY: Partial<Record<Placeholder, string>> = {
  end: "a recording's folder is needed before the recording ends",
  record_dir: "it stands for the rendered folder template itself",
};

const FILE_EXTENSION = ".mp4";

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
 * use only known placeholders (`{end}` and `{record_dir}` only in file templates), end in ".mp4" if it is a file
 * template, render (with sample streams with and without an app) to a valid relative storage path, and contain
 * `{stream}`, or `{app}` and `{name}`, if it is a folder template (a folder holds one stream).
 */
export function templateProblem(template: string, kind: TemplateKind): string | undefined {
  const what = `${kind} template`;
  const quoted = JSON.stringify(template);
  if (template.length === 0) return `${what} must not be empty`;
  const parts = parseTemplate(what, template);
  if (typeof parts === "string") return parts;
  if (kind === "folder") {
    for (const part of parts) {
      if (!("placeholder" in part)) continue;
      const why = FILE_ONLY[part.placeholder];
      if (why !== undefined) return `${what} ${quoted} must not use {${part.placeholder}}: ${why}`;
    }
  }
  if (kind === "file" && !template.endsWith(FILE_EXTENSION)) {
    return `${what} ${quoted} must end in ${JSON.stringify(FILE_EXTENSION)}`;
  }
  for (const sample of SAMPLE_VALUES) {
    const problem = relativePathProblem(renderParts(template, parts, sample));
    if (problem !== undefined) return `${what} ${quoted} does not render a valid relative path: ${problem}`;
  }
  const names = (p: Placeholder) => parts.some((part) => "placeholder" in part && part.placeholder === p);
  if (kind === "folder" && !names("stream") && !(names("app") && names("name"))) {
    return `${what} ${quoted} must contain {stream} (or both {app} and {name}): a folder holds one stream`;
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
