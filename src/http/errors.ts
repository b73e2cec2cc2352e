/** The one place where domain errors become HTTP answers: `{"error": {"code", "message"}}`. */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HTTPException } from "hono/http-exception";
import { BadRequestError, ConflictError, NotFoundError, StorageError, UnsupportedError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";

const MAPPING: [new (...args: never[]) => Error, ContentfulStatusCode, string][] = [
  [BadRequestError, 400, "bad_request"],
  [NotFoundError, 404, "not_found"],
  [ConflictError, 409, "conflict"],
  [UnsupportedError, 422, "unsupported"],
  [StorageError, 503, "storage_unavailable"],
];

/** A JSON error body. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Hono's onError handler: known errors get their status; anything else is a 500 and is logged. */
export function errorHandler(log: Logger) {
  return (error: Error, c: Context): Response => {
    for (const [type, status, code] of MAPPING) {
      if (error instanceof type) return c.json(errorBody(code, error.message), status);
    }
    if (error instanceof HTTPException) {
      return c.json(errorBody(`http_${error.status}`, error.message), error.status as ContentfulStatusCode);
    }
    log("error", "unhandled error in request", { method: c.req.method, path: c.req.path, error: String(error) });
    return c.json(errorBody("internal", "internal error"), 500);
  };
}
