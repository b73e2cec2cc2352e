/**
 * The on-demand callback client: asks an operator's HTTP endpoint whether a newly published stream should be
 * recorded, and how. It never throws; any failure becomes the rule's fallback with the reason spelled out. It does
 * not decide which rule applies, cache answers, or retry.
 *
 * Protocol:
 *
 * - liverec sends `POST <on_demand_url>` with `content-type: application/json` and the body
 *   `{"stream": "room1", "node_alias": "node-1", "published_at": "2024-05-01T12:00:00.000Z"}`
 *   (`node_alias` is omitted when `recorder.node_alias` is not set; `published_at` is ISO 8601 UTC).
 * - A 2xx answer whose body is a JSON object `{"record": true}` or `{"record": false}` decides. It may also carry
 *   per-stream overrides, in seconds, with the ranges of the rule keys of the same name:
 *   `"segment_duration"` (1–30), `"record_period"` (5–604800), `"splice_window"` (0–21600).
 *   Any other key, a value of the wrong type or out of range makes the answer invalid.
 * - Anything else is a failure and the rule's `on_demand_fallback` applies ("skip" by default): no complete answer
 *   within `on_demand_timeout` (headers and body together), a non-2xx status (redirects are not followed), a body
 *   that is not such a JSON object or larger than 64 KiB, or a network error.
 */

import { type OnDemand, settingRangeProblem } from "../config/mod.ts";
import { errorMessage } from "../shared/errors.ts";

/** The question: which stream, on which node, published when. */
export interface OnDemandRequest {
  stream: string;
  /** `recorder.node_alias`, or undefined when not configured (then omitted from the body). */
  nodeAlias: string | undefined;
  /** When the stream was published, ISO 8601. */
  publishedAt: string;
}

/** The decision, whether it came from the callback or from the fallback. */
export interface OnDemandAnswer {
  record: boolean;
  /** Why: "callback said yes", "callback said no", or the failure ("timed out after 3000 ms", "HTTP 500", ...) with "; fallback record/skip". */
  reason: string;
  /** Per-stream overrides from the callback (validated; empty after a failure). */
  overrides: { segmentDurationS?: number; recordPeriodS?: number; spliceWindowS?: number };
}

/** Largest answer body read, in bytes; a decision is a few dozen. */
export const MAX_ANSWER_BYTES = 64 * 1024;

const OVERRIDE_FIELDS = [
  { key: "segment_duration", field: "segmentDurationS" },
  { key: "record_period", field: "recordPeriodS" },
  { key: "splice_window", field: "spliceWindowS" },
] as const;
const ANSWER_KEYS: readonly string[] = ["record", ...OVERRIDE_FIELDS.map(({ key }) => key)];

type Outcome = { ok: true; record: boolean; overrides: OnDemandAnswer["overrides"] } | { ok: false; problem: string };

/** Asks `onDemand.url` whether to record `request.stream`; resolves within about `onDemand.timeoutMs`, never throws. */
export async function askOnDemand(
  onDemand: OnDemand,
  request: OnDemandRequest,
  fetchFn: typeof fetch = fetch,
): Promise<OnDemandAnswer> {
  const outcome = await exchange(onDemand, request, fetchFn);
  if (outcome.ok) {
    return {
      record: outcome.record,
      reason: outcome.record ? "callback said yes" : "callback said no",
      overrides: outcome.overrides,
    };
  }
  return {
    record: onDemand.fallback === "record",
    reason: `${outcome.problem}; fallback ${onDemand.fallback}`,
    overrides: {},
  };
}

async function exchange(onDemand: OnDemand, request: OnDemandRequest, fetchFn: typeof fetch): Promise<Outcome> {
  const signal = AbortSignal.timeout(onDemand.timeoutMs);
  const body: Record<string, string> = { stream: request.stream };
  if (request.nodeAlias !== undefined) body.node_alias = request.nodeAlias;
  body.published_at = request.publishedAt;
  try {
    // The race makes the deadline hold even for a fetch (or body stream) that ignores the signal.
    return await Promise.race([
      (async (): Promise<Outcome> => {
        const response = await fetchFn(onDemand.url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(body),
          redirect: "manual",
          signal,
        });
        if (response.status < 200 || response.status > 299) {
          await response.body?.cancel().catch(() => {});
          return { ok: false, problem: `HTTP ${response.status}` };
        }
        const text = await readText(response);
        return text.ok ? parseAnswer(text.text) : text;
      })(),
      rejectOnAbort(signal),
    ]);
  } catch (error) {
    if (signal.aborted) return { ok: false, problem: `timed out after ${onDemand.timeoutMs} ms` };
    return { ok: false, problem: networkProblem(error, onDemand.url) };
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** The body as UTF-8 text, read up to MAX_ANSWER_BYTES. */
async function readText(response: Response): Promise<{ ok: true; text: string } | { ok: false; problem: string }> {
  if (response.body === null) return { ok: true, text: "" };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizeBytes += value.byteLength;
    if (sizeBytes > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => {});
      return { ok: false, problem: `answer larger than ${MAX_ANSWER_BYTES} bytes` };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(sizeBytes);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, problem: "invalid JSON: the body is not UTF-8" };
  }
}

function parseAnswer(text: string): Outcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `invalid JSON: ${errorMessage(error)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, problem: `invalid answer: must be a JSON object like {"record": true}, got ${shown(value)}` };
  }
  const answer = value as Record<string, unknown>;
  const unknown = Object.keys(answer).find((key) => !ANSWER_KEYS.includes(key));
  if (unknown !== undefined) {
    return { ok: false, problem: `invalid answer: unknown key ${shown(unknown)} (allowed: ${ANSWER_KEYS.join(", ")})` };
  }
  if (typeof answer.record !== "boolean") {
    return { ok: false, problem: `invalid answer: "record" must be true or false, got ${shown(answer.record)}` };
  }
  const overrides: OnDemandAnswer["overrides"] = {};
  for (const { key, field } of OVERRIDE_FIELDS) {
    if (!Object.hasOwn(answer, key)) continue;
    const override = answer[key];
    const problem = settingRangeProblem(key, override);
    if (problem !== undefined || typeof override !== "number") {
      return { ok: false, problem: `invalid answer: ${shown(key)} ${problem ?? "must be a number"}` };
    }
    overrides[field] = override;
  }
  return { ok: true, record: answer.record, overrides };
}

/** A network failure in words: "connection refused by host:port" or the innermost cause's message. */
function networkProblem(error: unknown, url: string): string {
  const messages: string[] = [];
  for (let cause: unknown = error; cause !== undefined && messages.length < 8;) {
    messages.push(errorMessage(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  if (messages.some((message) => /connection refused/i.test(message))) {
    return URL.canParse(url) ? `connection refused by ${new URL(url).host}` : "connection refused";
  }
  return `request failed: ${messages.at(-1) ?? "unknown error"}`;
}

/** A JSON value shown in a reason, cut short so a large answer cannot flood the log. */
function shown(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
