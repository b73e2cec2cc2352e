/**
 * Playback URLs that work without a header, for players that cannot send one (`<video src>`, VLC, ffplay, hls.js and
 * dash.js by default, Safari): `/play/{expires}/{signature}/{record_dir}/{file}`. The signature is an HMAC-SHA256 of
 * the expiry (Unix seconds) and the recording's folder, so one URL opens every object directly in that folder and
 * nothing else, until it expires. Manifests name their segments relative to themselves, so a player that is given
 * the manifest's URL carries the signature to every segment it fetches. An expired or tampered URL is a 403.
 *
 * The key is the service's own (32 random bytes kept in its state folder): restarting does not void the URLs given.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import type { Catalog } from "../catalog/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import { errorBody } from "./errors.ts";
import { objectResponse } from "./object_routes.ts";
import { wholeMp4 } from "./recording_media.ts";

/** Bytes of the HMAC kept in the URL: 128 bits. */
const SIGNATURE_BYTES = 16;

/** What a `/play/...` path opens, or why it opens nothing. */
export type PlayCheck = { recordDir: string; file: string } | { refused: string };

export class PlaybackSigner {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length < 16) throw new Error("a playback key has 16 bytes or more");
    this.#key = key;
  }

  /** The URL path of `file` in `recordDir`, valid until `expiresAtS` (Unix seconds). */
  path(recordDir: string, file: string, expiresAtS: number): string {
    const encoded = [...recordDir.split("/"), file].map(encodeURIComponent).join("/");
    return `/play/${expiresAtS}/${this.#sign(recordDir, expiresAtS)}/${encoded}`;
  }

  /** Checks the path after `/play/` (as requested, percent-encoded) at `nowMs`. */
  check(rest: string, nowMs: number): PlayCheck {
    const parts = rest.split("/");
    if (parts.length < 4) return { refused: "a playback URL is /play/{expires}/{signature}/{folder}/{file}" };
    let decoded: string[];
    try {
      decoded = parts.slice(2).map(decodeURIComponent);
    } catch {
      return { refused: "the playback URL is not valid percent-encoding" };
    }
    const [expires, signature] = parts as [string, string];
    const file = decoded.pop()!;
    const recordDir = decoded.join("/");
    if (!/^\d{1,12}$/.test(expires)) return { refused: "the playback URL's expiry is not a time" };
    if (!this.#matches(recordDir, Number(expires), signature)) {
      return { refused: "the playback URL's signature does not match its folder and expiry" };
    }
    if (Number(expires) * 1000 <= nowMs) {
      return { refused: `the playback URL expired at ${new Date(Number(expires) * 1000).toISOString()}` };
    }
    if (file === "" || decoded.some((part) => part === "" || part === "." || part === "..")) {
      return { refused: "the playback URL names no object in its folder" };
    }
    return { recordDir, file };
  }

  #sign(recordDir: string, expiresAtS: number): string {
    const mac = createHmac("sha256", this.#key).update(`${expiresAtS}\n${recordDir}`).digest();
    return mac.subarray(0, SIGNATURE_BYTES).toString("base64url");
  }

  #matches(recordDir: string, expiresAtS: number, signature: string): boolean {
    const expected = Buffer.from(this.#sign(recordDir, expiresAtS));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** `GET|HEAD /play/...`: what a signed URL opens, with no other credential. */
export function playRoutes(deps: { signer: PlaybackSigner; files: RecordingFiles; catalog: Catalog; clock: Clock }) {
  const app = new Hono();
  app.on(["GET", "HEAD"], "/*", async (c) => {
    const rest = new URL(c.req.url).pathname.replace(/^\/play\//, "");
    const checked = deps.signer.check(rest, deps.clock.nowMs());
    if ("refused" in checked) return c.json(errorBody("forbidden", checked.refused), 403);
    const key = `${checked.recordDir}/${checked.file}`;
    // {record_id}.mp4 where no such file was merged: the recording merged now (see the playback links).
    if (checked.file.endsWith(".mp4") && await deps.files.stat(key) === undefined) {
      const row = deps.catalog.get(checked.file.slice(0, -".mp4".length));
      if (row !== undefined && row.recordDir === checked.recordDir) {
        const bytes = await wholeMp4(deps.files, row);
        c.header("Content-Type", "video/mp4");
        c.header("Content-Length", String(bytes.length));
        if (c.req.method === "HEAD") return c.body(null, 200);
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200);
      }
    }
    return await objectResponse(c, deps.files, key);
  });
  return app;
}
