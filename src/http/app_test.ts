/** The HTTP app in process (`app.request`): routes that need no recorder, with an injected clock. */

import assert from "node:assert/strict";
import { type AppDeps, createApp } from "./app.ts";

const NOW_MS = Date.UTC(2026, 11, 6, 18, 30, 15, 250);

/** An app whose recorder parts are never reached by the routes under test. */
function appWith(authTokens: string[]) {
  const unused = new Proxy({}, {
    get: (_, name) => {
      throw new Error(`not used by this test: ${String(name)}`);
    },
  });
  const deps = {
    hub: unused,
    manager: unused,
    ingest: unused,
    files: unused,
    catalog: unused,
    clock: { nowMs: () => NOW_MS },
    log: () => {},
    authTokens,
    playbackKey: new Uint8Array(32),
  } as unknown as AppDeps;
  return createApp(deps);
}

Deno.test("GET /api/time answers the clock's time as ISO 8601, uncached, without a token when auth is on", async () => {
  const app = appWith(["a-long-enough-token"]);
  const response = await app.request("/api/time");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "2026-12-06T18:30:15.250Z");
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  assert.equal(response.headers.get("access-control-allow-origin"), "*", "players on other origins may ask");
  assert.equal((await app.request("/api/streams")).status, 401, "the rest of the API still wants the token");
});
