/**
 * A counting, switchable HTTP proxy on 127.0.0.1 in front of an S3 endpoint (s3rver): it forwards every request as
 * it came, keeps a log of what was asked and what was answered, and can be told to answer 503 ServiceUnavailable
 * instead — from now on, or right after a request that matches — so a test can start an outage at a chosen moment.
 * When the endpoint behind it is down it answers 502, as a load balancer would. It neither checks nor re-signs
 * SigV4 signatures (s3rver does not verify them), and it does not emulate slow or partial answers; it can hold
 * requests unanswered (an endpoint that takes connections and never answers).
 */

/** One request as the proxy saw it, with the status it answered. */
export interface ProxiedRequest {
  method: string;
  /** The object key in the bucket (path-style: the path without the bucket), percent-decoded; "" for the bucket. */
  key: string;
  /** The query string, without "?". */
  query: string;
  status: number;
}

/** A running proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:{port}`, to give the service as its S3 endpoint. */
  endpoint: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Successful (2xx) single-request PUTs (no multipart parts) per object key. */
  successfulPuts(): Map<string, number>;
  /** Answers 503 to every request from now on. */
  fail(): void;
  /** Holds every request from now on without an answer, until `forward` (they are then answered 503). */
  hang(): void;
  /** Forwards again. */
  forward(): void;
  /** Resolves with the first answered request that matches; from the next request on, the proxy answers 503. */
  failAfter(match: (request: ProxiedRequest) => boolean): Promise<ProxiedRequest>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Request headers not forwarded: the connection's own, and ones fetch sets for the upstream request. */
const HOP_HEADERS = ["host", "connection", "keep-alive", "transfer-encoding", "content-length", "accept-encoding"];

function s3Error(status: number, code: string, message: string): Response {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return new Response(body, { status, headers: { "content-type": "application/xml" } });
}

/** Starts a proxy forwarding to `upstream` (e.g. `http://127.0.0.1:4568`). */
export function startS3Proxy(upstream: string): S3Proxy {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  let failing = false;
  let hanging: PromiseWithResolvers<void> | undefined;
  const watchers: { match: (request: ProxiedRequest) => boolean; resolve: (r: ProxiedRequest) => void }[] = [];

  const answer = async (request: Request, url: URL): Promise<Response> => {
    if (hanging !== undefined) {
      await hanging.promise;
      return s3Error(503, "ServiceUnavailable", "held unanswered by the test proxy");
    }
    if (failing) return s3Error(503, "ServiceUnavailable", "outage simulated by the test proxy");
    const headers = new Headers(request.headers);
    for (const name of HOP_HEADERS) headers.delete(name);
    headers.set("accept-encoding", "identity");
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = hasBody ? await request.arrayBuffer() : undefined;
    let response: Response;
    try {
      response = await fetch(new URL(url.pathname + url.search, target), {
        method: request.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        redirect: "manual",
      });
    } catch (error) {
      return s3Error(502, "BadGateway", `the endpoint behind the test proxy is unreachable: ${error}`);
    }
    const noBody = request.method === "HEAD" || [204, 205, 304].includes(response.status);
    const bytes = noBody ? null : await response.arrayBuffer();
    if (noBody) await response.body?.cancel();
    const out = new Headers(response.headers);
    out.delete("transfer-encoding");
    out.delete("connection");
    out.delete("keep-alive");
    if (!noBody) out.delete("content-length");
    return new Response(bytes, { status: response.status, headers: out });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/[^/]*\/?/, ""); // path-style: /{bucket}/{key}
    const response = await answer(request, url);
    const seen: ProxiedRequest = {
      method: request.method,
      key: decodeURIComponent(path),
      query: url.search.replace(/^\?/, ""),
      status: response.status,
    };
    requests.push(seen);
    for (const [at, watcher] of [...watchers.entries()].reverse()) {
      if (!watcher.match(seen)) continue;
      watchers.splice(at, 1);
      failing = true;
      watcher.resolve(seen);
    }
    return response;
  });

  const release = () => {
    hanging?.resolve();
    hanging = undefined;
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    release();
    return stopped ??= server.shutdown();
  };
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    successfulPuts() {
      const counts = new Map<string, number>();
      for (const r of requests) {
        const part = /(?:^|&)(?:partNumber|uploadId)=/.test(r.query);
        if (r.method === "PUT" && !part && r.status >= 200 && r.status < 300) {
          counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
        }
      }
      return counts;
    },
    fail() {
      failing = true;
    },
    hang() {
      hanging ??= Promise.withResolvers();
    },
    forward() {
      failing = false;
      release();
    },
    failAfter(match) {
      return new Promise((resolve) => watchers.push({ match, resolve }));
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
