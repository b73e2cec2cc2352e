/**
 * A webhook receiver on 127.0.0.1: a real HTTP server that answers 200 to every request, keeps each one (the
 * Standard Webhooks headers and the parsed JSON body) and checks its `webhook-signature` itself with WebCrypto, so
 * that tests judge what the service sent without trusting its signing code. Deliveries are at least once: `events()`
 * dedupes on the webhook id as a receiver should, `requests()` keeps every attempt. It never fails a request.
 */

/** The recording fields of an event's `data` the tests read (see eventData in src/events/recording_events.ts). */
export interface RecordingData {
  record_id: string;
  stream: string;
  record_dir: string;
  mpd_path: string;
  state: string;
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  periods: number;
  segments: number;
  mp4_path?: string | null;
  error?: string | null;
}

/** One request the receiver got. */
export interface WebhookRequest {
  id: string;
  timestamp: string;
  signature: string;
  /** Whether `signature` has a v1 HMAC-SHA256 of `<id>.<timestamp>.<body>` with the receiver's secret. */
  signed: boolean;
  /** The raw body, as signed. */
  body: string;
  type: string;
  /** The body's `data`: a recording's fields, or `from` and `to` for `recording.rotated`. */
  data: RecordingData & { from?: RecordingData; to?: RecordingData };
}

export interface WebhookReceiver extends AsyncDisposable {
  url: string;
  secret: string;
  /** The `[webhooks]` section that sends every event here, signed with `secret`. */
  toml: string;
  /** Every request so far, retries included, in arrival order. */
  requests(): WebhookRequest[];
  /** The events of `type` so far, each once (the first delivery of its webhook id), in arrival order. */
  events(type: string): WebhookRequest[];
  /** Resolves with the first event of `type` that `predicate` accepts; fails after `timeoutMs`, listing what came. */
  waitForEvent(
    type: string,
    predicate?: (event: WebhookRequest) => boolean,
    timeoutMs?: number,
  ): Promise<WebhookRequest>;
  close(): Promise<void>;
}

/** The `[webhooks]` TOML section sending to `urls`, signed with `secret` (at least 16 characters), 2 s per attempt. */
export function webhooksToml(urls: readonly string[], secret: string): string {
  return `[webhooks]\nurls = ${JSON.stringify(urls)}\nsecret = ${JSON.stringify(secret)}\ntimeout = 2\n`;
}

/** Starts a receiver on a free port; stop it with `close()` after the service that sends to it. */
export async function startWebhookReceiver(secret = "e2e-receiver-secret-0123456789"): Promise<WebhookReceiver> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const verify = async (id: string, timestamp: string, body: string, header: string): Promise<boolean> => {
    const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
    for (const entry of header.split(" ")) {
      if (!entry.startsWith("v1,")) continue;
      let mac: Uint8Array<ArrayBuffer>;
      try {
        mac = Uint8Array.from(atob(entry.slice(3)), (char) => char.charCodeAt(0));
      } catch {
        continue;
      }
      if (await crypto.subtle.verify("HMAC", key, mac, signed)) return true;
    }
    return false;
  };
  const received: WebhookRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const id = request.headers.get("webhook-id") ?? "";
    const timestamp = request.headers.get("webhook-timestamp") ?? "";
    const signature = request.headers.get("webhook-signature") ?? "";
    const body = await request.text();
    const parsed = JSON.parse(body);
    const signed = await verify(id, timestamp, body, signature);
    received.push({ id, timestamp, signature, signed, body, type: parsed.type, data: parsed.data });
    return new Response("ok");
  });
  const url = `http://127.0.0.1:${server.addr.port}/hooks`;
  const events = (type: string) => {
    const first = new Map<string, WebhookRequest>();
    for (const event of received) if (event.type === type && !first.has(event.id)) first.set(event.id, event);
    return [...first.values()];
  };
  return {
    url,
    secret,
    toml: webhooksToml([url], secret),
    requests: () => [...received],
    events,
    async waitForEvent(type, predicate = () => true, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events(type).find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          const got = received.map((event) => `${event.type} ${JSON.stringify(event.data)}`).join("\n");
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${type}; received:\n${got}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
