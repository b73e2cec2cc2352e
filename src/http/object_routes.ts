/**
 * `GET /api/record/object/{path}`: stored recording objects for players and for the seed's Liveman proxy, with
 * content types and HTTP Range (RFC 9110 §14). Keys are checked by the store; nothing outside its root is read.
 */

import { type Context, Hono } from "hono";
import type { ByteRange, RecordingFiles } from "../storage/mod.ts";
import { BadRequestError, NotFoundError } from "../shared/errors.ts";
import { errorBody } from "./errors.ts";

const CONTENT_TYPES: Record<string, string> = {
  mpd: "application/dash+xml",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  flv: "video/x-flv",
  json: "application/json",
};

/** Routes under `/api/record/object`. */
export function objectRoutes(files: RecordingFiles): Hono {
  const app = new Hono();
  app.on(["GET", "HEAD"], "/*", (c) => objectResponse(c, files, objectKey(new URL(c.req.url).pathname)));
  return app;
}

/**
 * Answers a GET or HEAD of the stored object `key`: its bytes (or the range asked for) with its content type, a
 * redirect where the store presigns, 404 when there is no such object.
 */
export async function objectResponse(c: Context, files: RecordingFiles, key: string): Promise<Response> {
  const redirect = await files.redirectFor(key);
  if (redirect !== undefined) return c.redirect(redirect, 302);
  const info = await files.stat(key);
  if (info === undefined) throw new NotFoundError(`no object "${key}"`);
  const extension = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
  c.header("Content-Type", CONTENT_TYPES[extension] ?? "application/octet-stream");
  c.header("Accept-Ranges", "bytes");
  c.header("Cache-Control", extension === "mpd" || extension === "m3u8" ? "no-cache" : "max-age=60");
  const rangeHeader = c.req.header("range");
  let range: ByteRange | undefined;
  if (rangeHeader !== undefined) {
    range = parseRange(rangeHeader, info.sizeBytes);
    if (range === undefined) {
      c.header("Content-Range", `bytes */${info.sizeBytes}`);
      return c.json(
        errorBody("range_not_satisfiable", `range ${rangeHeader} is outside ${info.sizeBytes} bytes`),
        416,
      );
    }
    c.header("Content-Range", `bytes ${range.start}-${range.endInclusive}/${info.sizeBytes}`);
  }
  const length = range === undefined ? info.sizeBytes : range.endInclusive - range.start + 1;
  c.header("Content-Length", String(length));
  const status = range === undefined ? 200 : 206;
  if (c.req.method === "HEAD" || length === 0) return c.body(null, status);
  const bytes = await files.read(key, range);
  if (bytes === undefined) throw new NotFoundError(`no object "${key}"`);
  return c.body(bytes as Uint8Array<ArrayBuffer>, status);
}

/** The object key in a request path, percent-decoded (so `%2e%2e` is seen, and refused, as `..`). */
function objectKey(pathname: string): string {
  const marker = "/api/record/object/";
  const at = pathname.indexOf(marker);
  if (at < 0) throw new BadRequestError(`object path must stay below ${marker}, got ${JSON.stringify(pathname)}`);
  const raw = pathname.slice(at + marker.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`object path is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 80))}`);
  }
}

/** A single `bytes=` range within `size`, or undefined when unsatisfiable; malformed headers are a 400. */
function parseRange(header: string, size: number): ByteRange | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === "" && match[2] === "")) {
    throw new BadRequestError(`unsupported Range header ${JSON.stringify(header)} (one "bytes=start-end" range)`);
  }
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - suffix), endInclusive: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return { start, endInclusive: end };
}
