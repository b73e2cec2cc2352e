/**
 * Recording callbacks (webhooks): every event is persisted in an outbox folder before `emit()` resolves, then
 * POSTed to each configured URL, signed, and retried with capped exponential back-off until a 2xx answer or until
 * it is too old. A restart resumes from the folder, so an event is delivered at least once; receivers dedupe on the
 * id. It does not decide which events exist or when (the recorder emits them), and it keeps no delivery history.
 *
 * Wire format, one request per event and URL:
 *
 * ```
 * POST <url>
 * content-type: application/json
 * webhook-id: <event id, a UUID; the same on every attempt and after a restart>
 * webhook-timestamp: <Unix seconds of this attempt>
 * webhook-signature: v1,<base64 of HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>
 *
 * {"id":"<event id>","type":"recording.finished","created_at":"<ISO 8601 UTC>","node_alias":"<alias>","data":{...}}
 * ```
 *
 * - Headers follow the Standard Webhooks convention (https://www.standardwebhooks.com). `webhook-signature` is sent
 *   only when a secret is configured; the HMAC key is the secret's UTF-8 bytes (to verify with a Standard Webhooks
 *   library, which base64-decodes its key, give it `whsec_` + the base64 of the secret). `node_alias` is in the body
 *   only when one is configured. The body of an event is byte-identical on every attempt.
 * - A 2xx answer is a delivery. Anything else (another status, a redirect, which is not followed, a timeout, a
 *   network error) is a failed attempt, retried after `retryFirstMs`, doubling up to `retryMaxMs`.
 * - Per URL, events go out one at a time in the order they were emitted: while an event fails, later events for the
 *   same URL wait behind it, so a receiver never sees `recording.finished` before its `recording.started`. URLs do
 *   not wait for each other. An event older than `maxAgeMs` is given up (logged as an error) and the next one goes.
 *
 * The outbox folder holds one JSON file per (event, URL), `<12-digit sequence>-<event id>.json`, so that sorting the
 * names gives the emit order, also across restarts. Files are written atomically and durably (temporary file,
 * fsync, rename, fsync of the folder) and deleted once delivered. A file that cannot be parsed is renamed
 * `<name>.corrupt` and logged; a file for a URL no longer configured is dropped with a warning.
 *
 * The injected clock stamps events (`created_at`, `webhook-timestamp`) and ages them; waits are real timers.
 */

import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../shared/assert.ts";
import type { Clock } from "../shared/clock.ts";
import { errorMessage, isNotFound, StorageError } from "../shared/errors.ts";
import { syncFolder } from "../shared/sync_folder.ts";
import type { Logger } from "../shared/log.ts";

/** What happened to a recording. */
export type EventType =
  | "recording.started"
  | "recording.segment"
  | "recording.finished"
  | "recording.spliced"
  | "recording.rotated"
  | "recording.failed"
  | "recording.deleted";

/** One event as emitted; `id` is the idempotency id receivers dedupe on. */
export interface WebhookEvent {
  /** A UUID, sent as `webhook-id` and `id`. */
  id: string;
  type: EventType;
  /** ISO 8601 UTC, sent as `created_at`. */
  createdAt: string;
  data: Record<string, unknown>;
}

export interface WebhookOptions {
  /** Every event goes to each of these (duplicates are sent once); each URL has its own order and retries. */
  urls: readonly string[];
  /** The HMAC key; undefined sends unsigned requests. */
  secret: string | undefined;
  /** Added to every body as `node_alias` when defined. */
  nodeAlias: string | undefined;
  /** The outbox folder (created if missing); it must belong to this outbox alone. */
  dir: string;
  /** Limit of one attempt, response body included. */
  timeoutMs: number;
  /** Wait after the first failed attempt of an event; doubled after each further one, up to `retryMaxMs`. */
  retryFirstMs: number;
  retryMaxMs: number;
  /** An event older than this (by its `createdAt`) is given up undelivered. */
  maxAgeMs: number;
  log: Logger;
  clock: Clock;
  fetchFn?: typeof fetch;
  /** Event ids; `crypto.randomUUID` unless a test fixes them. */
  newId?: () => string;
}

/** What the outbox has done and still owes. */
export interface WebhookStatus {
  /** Deliveries (event × URL) not done yet, in flight included. */
  pending: number;
  delivered: number;
  failedAttempts: number;
  /** Deliveries given up: too old, or for a URL no longer configured. */
  dropped: number;
  /** The last failed attempt, `<url>: <reason>`. */
  lastError: string | undefined;
}

const SEQUENCE_DIGITS = 12;
const FILE_NAME = /^(\d{12})-[^/]+\.json$/;
const SEQUENCE_PREFIX = /^(\d{12})-/;
const TEMP_MARKER = ".tmp-";
const CORRUPT_SUFFIX = ".corrupt";
const DEFAULT_GRACE_MS = 5_000;
const ERROR_BODY_CHARS = 200;

/** One delivery owed: an event's body for one URL, and the file that keeps the promise. */
interface Delivery {
  file: string;
  url: string;
  id: string;
  type: string;
  createdAtMs: number;
  body: string;
}

/** One URL's queue and delivery loop. */
interface Route {
  url: string;
  queue: Delivery[];
  /** Ends the loop's current wait early (set while it waits). */
  wake: (() => void) | undefined;
  /** True while the loop waits for new deliveries (rather than for a retry). */
  idle: boolean;
  inFlight: AbortController | undefined;
  loop: Promise<void> | undefined;
}

/** An attempt cut short by `stop()`: neither a delivery nor a failure. */
const STOPPED = Symbol("stopped");

/** Signed, retried, persisted webhooks; one delivery loop per URL. */
export class WebhookOutbox {
  readonly #opts: WebhookOptions;
  readonly #fetch: typeof fetch;
  readonly #routes = new Map<string, Route>();
  readonly #key: Promise<CryptoKey> | undefined;
  #starting: Promise<void> | undefined;
  #loaded = false;
  /** The last emit (or the loading): emits persist and enqueue one at a time, in call order. */
  #emitting: Promise<unknown> = Promise.resolve();
  #nextSequence = 0;
  #stopping = false;
  #aborted = false;
  readonly #drainWaiters = new Set<() => void>();
  #status = { delivered: 0, failedAttempts: 0, dropped: 0, lastError: undefined as string | undefined };

  constructor(opts: WebhookOptions) {
    assert(opts.secret === undefined || opts.secret.length > 0, "webhook secret must not be empty");
    assert(opts.timeoutMs > 0 && opts.retryFirstMs > 0 && opts.retryMaxMs >= opts.retryFirstMs, "webhook timings");
    for (const url of opts.urls) {
      assert(/^https?:$/.test(URL.parse(url)?.protocol ?? ""), `webhook URL must be http(s), got "${url}"`);
      if (!this.#routes.has(url)) {
        this.#routes.set(url, { url, queue: [], wake: undefined, idle: false, inFlight: undefined, loop: undefined });
      }
    }
    this.#opts = opts;
    this.#fetch = opts.fetchFn ?? fetch;
    this.#key = opts.secret === undefined ? undefined : hmacKey(opts.secret);
  }

  get status(): WebhookStatus {
    return { pending: this.#pending(), ...this.#status };
  }

  /** Loads undelivered events left by an earlier run (they are delivered again: receivers dedupe on the id). */
  start(): Promise<void> {
    if (this.#starting === undefined) {
      this.#starting = this.#load();
      this.#emitting = this.#starting;
    }
    return this.#starting;
  }

  /** Persists (durably, before resolving) one delivery file per URL and schedules delivery; returns the event. */
  async emit(type: EventType, data: Record<string, unknown>): Promise<WebhookEvent> {
    assert(this.#starting !== undefined, "WebhookOutbox.emit() before start()");
    const { clock, nodeAlias, newId = () => crypto.randomUUID() } = this.#opts;
    const createdAtMs = clock.nowMs();
    const event: WebhookEvent = { id: newId(), type, createdAt: new Date(createdAtMs).toISOString(), data };
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      created_at: event.createdAt,
      ...(nodeAlias === undefined ? {} : { node_alias: nodeAlias }),
      data: event.data,
    });
    const persisted = this.#emitting.catch(() => {}).then(() => this.#persist(event, createdAtMs, body));
    this.#emitting = persisted;
    await persisted;
    return event;
  }

  /**
   * Stops delivery loops; waits up to `graceMs` for in-flight attempts, then aborts them. Undelivered files stay
   * for the next start. An event emitted after this is persisted but not sent until then.
   */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.#stopping = true;
    await this.#starting?.catch(() => {});
    for (const route of this.#routes.values()) route.wake?.();
    const loops = Promise.all([...this.#routes.values()].map((route) => route.loop));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const inTime = await Promise.race([
      loops.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.#aborted = true;
      for (const route of this.#routes.values()) route.inFlight?.abort();
      await loops;
    }
    await this.#emitting.catch(() => {});
  }

  /** Resolves true once nothing is pending (or false after `timeoutMs`). */
  async drained(timeoutMs: number): Promise<boolean> {
    await this.#starting?.catch(() => {});
    if (this.#pending() === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter: (() => void) | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => {
        waiter = () => resolve(true);
        this.#drainWaiters.add(waiter);
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (waiter !== undefined) this.#drainWaiters.delete(waiter);
    return done;
  }

  #pending(): number {
    let pending = 0;
    for (const route of this.#routes.values()) pending += route.queue.length;
    return pending;
  }

  async #load(): Promise<void> {
    const { dir, log } = this.#opts;
    await io("create", dir, () => mkdir(dir, { recursive: true }));
    const names = (await io("list", dir, () => readdir(dir, { withFileTypes: true })))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
    let lastSequence = -1;
    for (const name of names) {
      const path = join(dir, name);
      const sequence = SEQUENCE_PREFIX.exec(name)?.[1];
      if (sequence !== undefined) lastSequence = Math.max(lastSequence, Number(sequence));
      if (name.includes(TEMP_MARKER)) {
        // An emit interrupted by a crash: it never resolved, so nobody was promised this event.
        await rm(path, { force: true }).catch(() => {});
        continue;
      }
      if (!name.endsWith(".json")) continue;
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        log("error", "cannot read webhook delivery; left for the next start", {
          file: path,
          error: errorMessage(error),
        });
        continue;
      }
      const delivery = FILE_NAME.test(name) ? parseDelivery(name, text) : undefined;
      if (delivery === undefined) {
        const aside = path + CORRUPT_SUFFIX;
        try {
          await rename(path, aside);
          log("error", "corrupt webhook delivery moved aside", { file: aside });
        } catch (error) {
          log("error", "corrupt webhook delivery cannot be moved aside", { file: path, error: errorMessage(error) });
        }
        continue;
      }
      const route = this.#routes.get(delivery.url);
      if (route === undefined) {
        this.#status.dropped++;
        log("warn", "webhook URL no longer configured; delivery dropped", {
          id: delivery.id,
          type: delivery.type,
          url: shownUrl(delivery.url),
        });
        await rm(path, { force: true }).catch(() => {});
        continue;
      }
      route.queue.push(delivery);
    }
    this.#nextSequence = lastSequence + 1;
    this.#loaded = true;
    const pending = this.#pending();
    if (pending > 0) log("info", "webhook deliveries resumed", { pending });
    if (this.#stopping) return;
    for (const route of this.#routes.values()) route.loop = this.#run(route);
  }

  async #persist(event: WebhookEvent, createdAtMs: number, body: string): Promise<void> {
    if (!this.#loaded) throw new StorageError(`webhook outbox ${this.#opts.dir} did not start`);
    const { dir } = this.#opts;
    const deliveries = [...this.#routes.values()].map((route) => {
      const file = `${String(this.#nextSequence++).padStart(SEQUENCE_DIGITS, "0")}-${event.id}.json`;
      const delivery: Delivery = { file, url: route.url, id: event.id, type: event.type, createdAtMs, body };
      return { route, delivery, path: join(dir, file), temp: join(dir, `${file}${TEMP_MARKER}`) };
    });
    if (deliveries.length === 0) return;
    try {
      for (const { delivery, temp } of deliveries) {
        const file = await open(temp, "w");
        try {
          await file.writeFile(JSON.stringify({ url: delivery.url, body: delivery.body }));
          await file.datasync();
        } finally {
          await file.close();
        }
      }
      for (const { path, temp } of deliveries) await rename(temp, path);
      await syncFolder(dir);
    } catch (error) {
      for (const { path, temp } of deliveries) {
        await rm(temp, { force: true }).catch(() => {});
        await rm(path, { force: true }).catch(() => {});
      }
      throw new StorageError(`cannot persist webhook event ${event.id} in ${dir}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    for (const { route, delivery } of deliveries) {
      route.queue.push(delivery);
      if (route.idle) route.wake?.();
    }
  }

  /** Delivers the route's queue head by head until stopped. */
  async #run(route: Route): Promise<void> {
    const { retryFirstMs, retryMaxMs, maxAgeMs, clock, log } = this.#opts;
    let backoffMs = retryFirstMs;
    let attempts = 0;
    while (!this.#stopping) {
      const delivery = route.queue[0];
      if (delivery === undefined) {
        await this.#wait(route, undefined);
        continue;
      }
      const ageMs = clock.nowMs() - delivery.createdAtMs;
      if (ageMs > maxAgeMs) {
        this.#status.dropped++;
        log("error", "webhook event too old; given up undelivered", {
          id: delivery.id,
          type: delivery.type,
          url: shownUrl(route.url),
          ageMs,
          attempts,
          lastError: this.#status.lastError,
        });
        await this.#done(route, delivery);
        backoffMs = retryFirstMs;
        attempts = 0;
        continue;
      }
      attempts++;
      const failure = await this.#attempt(route, delivery);
      if (failure === STOPPED) break;
      if (failure === undefined) {
        this.#status.delivered++;
        log("debug", "webhook delivered", { id: delivery.id, type: delivery.type, url: shownUrl(route.url), attempts });
        await this.#done(route, delivery);
        backoffMs = retryFirstMs;
        attempts = 0;
        continue;
      }
      this.#status.failedAttempts++;
      this.#status.lastError = `${shownUrl(route.url)}: ${failure}`;
      log("warn", "webhook attempt failed; will retry", {
        id: delivery.id,
        type: delivery.type,
        url: shownUrl(route.url),
        attempts,
        error: failure,
        retryInMs: backoffMs,
      });
      await this.#wait(route, backoffMs);
      backoffMs = Math.min(backoffMs * 2, retryMaxMs);
    }
  }

  /** One POST; undefined when delivered, else why not. */
  async #attempt(route: Route, delivery: Delivery): Promise<string | undefined | typeof STOPPED> {
    const { timeoutMs, clock } = this.#opts;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    route.inFlight = controller;
    try {
      const timestampS = Math.floor(clock.nowMs() / 1000);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": String(timestampS),
      };
      if (this.#key !== undefined) {
        headers["webhook-signature"] = await sign(await this.#key, delivery.id, timestampS, delivery.body);
      }
      const response = await this.#fetch(route.url, {
        method: "POST",
        headers,
        body: delivery.body,
        redirect: "manual",
        signal: controller.signal,
      });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel().catch(() => {});
        return undefined;
      }
      const text = (await response.text().catch(() => "")).trim().slice(0, ERROR_BODY_CHARS);
      return `HTTP ${response.status}${text === "" ? "" : ` ${text}`}`;
    } catch (error) {
      if (timedOut) return `no answer within ${timeoutMs} ms`;
      if (this.#aborted) return STOPPED;
      return errorMessage(error);
    } finally {
      clearTimeout(timer);
      route.inFlight = undefined;
    }
  }

  /** The route's head is finished (delivered or given up): forget it, delete its file. */
  async #done(route: Route, delivery: Delivery): Promise<void> {
    assert(route.queue[0] === delivery, "webhook delivery finished out of order");
    route.queue.shift();
    const path = join(this.#opts.dir, delivery.file);
    // Not made durable: a deletion lost to a crash only means one more delivery, which receivers dedupe.
    await rm(path).catch((error) => {
      if (isNotFound(error)) return;
      this.#opts.log("error", "cannot delete delivered webhook; it will be sent again after a restart", {
        file: path,
        error: errorMessage(error),
      });
    });
    if (this.#pending() === 0) {
      for (const resolve of this.#drainWaiters) resolve();
      this.#drainWaiters.clear();
    }
  }

  /** Waits `ms` (forever when undefined, for new deliveries) or until woken; stop always wakes. */
  #wait(route: Route, ms: number | undefined): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      route.idle = ms === undefined;
      route.wake = done;
      function done() {
        clearTimeout(timer);
        route.wake = undefined;
        route.idle = false;
        resolve();
      }
    });
  }
}

/** The signature header value for `body` sent at `timestampS` with id `id` (Standard Webhooks "v1"). */
export async function signature(secret: string, id: string, timestampS: number, body: string): Promise<string> {
  return await sign(await hmacKey(secret), id, timestampS, body);
}

function hmacKey(secret: string): Promise<CryptoKey> {
  const raw = new TextEncoder().encode(secret);
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function sign(key: CryptoKey, id: string, timestampS: number, body: string): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampS}.${body}`)),
  );
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return `v1,${btoa(binary)}`;
}

/** A delivery file's contents, or undefined when they are not what `#persist` writes. */
function parseDelivery(file: string, text: string): Delivery | undefined {
  try {
    const stored: unknown = JSON.parse(text);
    if (!isRecord(stored) || typeof stored.url !== "string" || typeof stored.body !== "string") return undefined;
    const body: unknown = JSON.parse(stored.body);
    if (!isRecord(body) || typeof body.id !== "string" || body.id === "" || typeof body.type !== "string") {
      return undefined;
    }
    const createdAtMs = typeof body.created_at === "string" ? Date.parse(body.created_at) : NaN;
    if (!Number.isFinite(createdAtMs) || URL.parse(stored.url) === null) return undefined;
    return { file, url: stored.url, id: body.id, type: body.type, createdAtMs, body: stored.body };
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A URL for logs and status: no user info, query or fragment, which may carry tokens. */
function shownUrl(url: string): string {
  const parsed = URL.parse(url);
  return parsed === null ? "(invalid URL)" : `${parsed.origin}${parsed.pathname}`;
}

async function io<T>(what: string, path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new StorageError(`cannot ${what} webhook outbox ${path}: ${errorMessage(error)}`, { cause: error });
  }
}
