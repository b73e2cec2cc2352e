/**
 * Naming rules for stream names, stream patterns and relative storage paths. Each check returns a message that
 * names the offending value, or undefined when the value is acceptable; callers wrap the message in their own
 * error type. The rules are deliberately narrow (an ASCII allow-list, no escapes, no dot segments) so a name can be
 * used as a path segment in any storage backend without encoding; they do not normalise or repair anything.
 */

/** Longest stream name, in characters. */
const MAX_STREAM_NAME_LENGTH = 128;
/** Longest segment of a relative storage path, in characters. */
const MAX_PATH_SEGMENT_LENGTH = 128;
/** Longest relative storage path, in characters. */
const MAX_PATH_LENGTH = 512;

const ALLOWED_DESCRIPTION = "A-Z a-z 0-9 . _ ~ -";

function isAllowedChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x2e || code === 0x5f || code === 0x7e || code === 0x2d; // . _ ~ -
}

/** `"x" (U+0078)`: a character shown so that control characters and homoglyphs are unambiguous. */
function showChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return `${JSON.stringify(char)} (U+${code.toString(16).toUpperCase().padStart(4, "0")})`;
}

/** The first character of `text` outside the allow-list, with specific wording for the usual suspects. */
function badCharProblem(what: string, text: string, extra: readonly string[] = []): string | undefined {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (isAllowedChar(code) || extra.includes(char)) continue;
    const quoted = JSON.stringify(text);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      return `${what} ${quoted} must not contain control characters, found ${showChar(char)}`;
    }
    if (char === "\\") return `${what} ${quoted} must not contain backslashes`;
    if (char === "%") return `${what} ${quoted} must not contain "%" (no percent-encoding)`;
    const allowed = [ALLOWED_DESCRIPTION, ...extra].join(" ");
    return `${what} ${quoted} contains ${showChar(char)}; allowed characters are ${allowed}`;
  }
  return undefined;
}

/**
 * Why `name` is not a valid stream name, or undefined. A stream name is `name` or `app/name`: one or two parts,
 * each 1–128 characters of `A-Z a-z 0-9 . _ ~ -` not starting with "." (so never "." or ".."). The app part is
 * a namespace, as RTMP's application: `live/room1` and `vod/room1` are different streams.
 */
export function streamNameProblem(name: string): string | undefined {
  return namePattern("stream name", name, []);
}

/**
 * Why `pattern` is not a valid stream pattern (as in `recorder.auto_streams`), or undefined: a stream name in
 * which `*` may stand for any run of characters, "/" included, e.g. `"*"`, `"room1"`, `"web-*"`, `"live/*"`.
 */
export function streamPatternProblem(pattern: string): string | undefined {
  return namePattern("stream pattern", pattern, ["*"]);
}

function namePattern(what: string, name: string, extra: readonly string[]): string | undefined {
  const quoted = JSON.stringify(name);
  if (name.length === 0) return `${what} must not be empty`;
  const parts = name.split("/");
  if (parts.length > 2) return `${what} ${quoted} has more than one "/" (a stream is "name" or "app/name")`;
  if (parts.some((part) => part === "")) return `${what} ${quoted} has an empty app or name around its "/"`;
  const badChar = badCharProblem(what, name, [...extra, "/"]);
  if (badChar !== undefined) return badChar;
  for (const part of parts) {
    // The app or the name, as the message calls it; the whole value when there is no app.
    const subject = parts.length === 1 ? `${what} ${quoted}` : `${what} ${quoted}: ${JSON.stringify(part)}`;
    // Only ASCII gets this far, so UTF-16 length is the character count.
    if (part.length > MAX_STREAM_NAME_LENGTH) {
      return `${subject} must be at most ${MAX_STREAM_NAME_LENGTH} characters, got ${part.length}`;
    }
    if (part.startsWith(".")) return `${subject} must not start with "."`;
  }
  return undefined;
}

/** The app (namespace) of a stream name, "" when it has none: `live/room1` → `live`, `room1` → "". */
export function streamApp(name: string): string {
  const slash = name.indexOf("/");
  return slash < 0 ? "" : name.slice(0, slash);
}

/** A stream name without its app: `live/room1` → `room1`, `room1` → `room1`. */
export function streamBaseName(name: string): string {
  return name.slice(name.indexOf("/") + 1);
}

/** Whether `name` matches `pattern`, where `*` matches any run of characters (including none). */
export function streamPatternMatches(pattern: string, name: string): boolean {
  // Greedy wildcard matching with one backtrack point: linear in practice, no regular expression to go wrong.
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === "*") {
      starP = p++;
      starN = n;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Why `path` is not a valid relative storage path (a `base_dir`, an object path), or undefined: segments separated
 * by "/", each 1–128 characters of `A-Z a-z 0-9 . _ ~ -` not starting with ".", no leading or trailing "/",
 * at most 512 characters in all.
 */
export function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return "path must not be empty";
  const badChar = badCharProblem("path", path, ["/"]);
  if (badChar !== undefined) return badChar;
  // Quoted only for a message: this runs for every file the recorder writes.
  const quoted = () => JSON.stringify(path);
  if (path.length > MAX_PATH_LENGTH) {
    return `path ${quoted()} must be at most ${MAX_PATH_LENGTH} characters, got ${path.length}`;
  }
  if (path.startsWith("/")) return `path ${quoted()} must be relative (no leading "/")`;
  for (const segment of path.split("/")) {
    if (segment === "") return `path ${quoted()} must not contain empty segments ("//" or a trailing "/")`;
    if (segment === "." || segment === "..") return `path ${quoted()} must not contain "." or ".." segments`;
    if (segment.startsWith(".")) return `path ${quoted()} must not contain hidden segments (starting with ".")`;
    if (segment.length > MAX_PATH_SEGMENT_LENGTH) {
      return `path ${quoted()} has a segment longer than ${MAX_PATH_SEGMENT_LENGTH} characters`;
    }
  }
  return undefined;
}
