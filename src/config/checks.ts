/**
 * Value checks used by the config schema: addresses, ports, URLs, credentials. Each returns a parsed value or a
 * problem message (without the key, which the caller adds); none throws, none does I/O or name resolution.
 */

/** A socket address to listen on: IPv6 hostnames are bare ("::"), not bracketed. */
export interface HostPort {
  hostname: string;
  port: number;
}

/** Either the parsed value or why the input was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

function ok<T>(value: T): Checked<T> {
  return { ok: true, value };
}

function fail<T>(problem: string): Checked<T> {
  return { ok: false, problem };
}

/** Whether `text` is an IPv4 dotted quad: four decimal numbers 0–255 without leading zeros. */
export function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

/**
 * Whether `text` is an IPv6 address in RFC 4291 §2.2 text form (hex groups, at most one "::", optionally an
 * embedded IPv4 tail), without brackets or a zone ("%eth0").
 */
export function isIPv6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => half === "" ? [] : half.split(":"));
  const last = groups[groups.length - 1];
  let count = groups.length;
  if (last !== undefined && last.includes(".")) {
    if (!isIPv4(last) || text.endsWith("::")) return false; // the IPv4 tail must end the address
    groups.pop();
    count += 1; // an IPv4 tail stands for two groups
  }
  if (!groups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** Whether `text` is an IPv4 or IPv6 literal (no brackets, no zone). */
export function isIpLiteral(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** Whether `text` is a DNS host name (RFC 1123 labels: letters, digits, inner hyphens; at most 253 characters). */
export function isHostName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.endsWith(".") ? text.slice(0, -1).split(".") : text.split(".");
  return labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) &&
    !/^[0-9.]+$/.test(text); // all-numeric look-alikes ("1.2.3", "999.1.1.1") are malformed addresses, not names
}

/** A decimal port number in `[min, 65535]`. */
function parsePort(text: string, min: number): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= min && port <= 65535 ? port : undefined;
}

/** `host[:port]` split at the right colon; an IPv6 host must be bracketed. Undefined when malformed. */
function splitHostPort(text: string): { host: string; port: string | undefined; bracketed: boolean } | undefined {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return undefined;
    const after = text.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return undefined;
    return { host: text.slice(1, close), port: after === "" ? undefined : after.slice(1), bracketed: true };
  }
  const parts = text.split(":");
  if (parts.length > 2) return undefined;
  return { host: parts[0] ?? "", port: parts[1], bracketed: false };
}

function isHost(host: string, bracketed: boolean): boolean {
  return bracketed ? isIPv6(host) : isIPv4(host) || isHostName(host);
}

/**
 * Parses `host:port` where host is an IPv4 literal, a DNS name or a bracketed IPv6 literal (`[::]:7777`) and the
 * port is from `minPort` to 65535.
 */
export function parseHostPort(text: string, minPort: number): Checked<HostPort> {
  const split = splitHostPort(text);
  const port = split?.port === undefined ? undefined : parsePort(split.port, minPort);
  if (split === undefined || port === undefined || !isHost(split.host, split.bracketed)) {
    return fail(
      `must be "host:port" (an IPv4 address, a host name or an IPv6 address in brackets, and a port from ${minPort} ` +
        `to 65535)`,
    );
  }
  return ok({ hostname: split.host, port });
}

/** Default STUN port, RFC 8489 §18.6. */
const STUN_DEFAULT_PORT = 3478;

/** Parses a STUN URI (RFC 7064 §3.1, `stun:host[:port]`) into its canonical `stun:host:port` form. */
export function parseStunUri(text: string): Checked<string> {
  const split = text.startsWith("stun:") ? splitHostPort(text.slice("stun:".length)) : undefined;
  const port = split?.port === undefined ? STUN_DEFAULT_PORT : parsePort(split.port, 1);
  if (split === undefined || port === undefined || !isHost(split.host, split.bracketed)) {
    return fail('must be a STUN URI "stun:host:port" (an IPv4 address, a host name or an IPv6 address in brackets)');
  }
  return ok(`stun:${split.bracketed ? `[${split.host}]` : split.host}:${port}`);
}

/** Whether `text` is an absolute http:// or https:// URL (such URLs always have a host). */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === "http:" || protocol === "https:";
}

/** An absolute http(s) URL without credentials, query or fragment (an object-store endpoint). */
export function checkHttpUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http:// or https:// URL";
  if (url.username !== "" || url.password !== "") return "must not contain credentials; use the key options";
  if (url.search !== "" || url.hash !== "") return "must not contain a query or fragment";
  if (/\s/.test(text)) return "must not contain whitespace";
  return undefined;
}

/** A credential: non-empty, no whitespace or control characters (a pasted trailing newline is the usual cause). */
export function checkCredential(text: string): string | undefined {
  if (text.length === 0) return "must not be empty";
  // deno-lint-ignore no-control-regex
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(text)) return "must not contain whitespace or control characters";
  return undefined;
}

/** Whether every character of `text` is printable: no control, format, or line/paragraph separator characters. */
export function isPrintable(text: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(text);
}
