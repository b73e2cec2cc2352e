/** Reading what every route group reads alike: a stream name from the path, a JSON body. Bad input is a 400. */

import type { Context } from "hono";
import { streamNameProblem } from "../config/mod.ts";
import { BadRequestError } from "../shared/errors.ts";

/**
 * The paths a route names a stream by: `/:stream` for `name` (or `app%2Fname`), `/:app/:name` for `app/name`;
 * `suffix` follows, e.g. "/:session".
 */
export function streamPaths(suffix = ""): string[] {
  return [`/:stream${suffix}`, `/:app/:name${suffix}`];
}

/** The stream a `streamPaths` route names, when it is a valid stream name; else a BadRequestError saying why. */
export function streamParam(c: Context): string {
  const { stream, app, name } = c.req.param() as Record<string, string | undefined>;
  const streamId = stream ?? `${app}/${name}`;
  const problem = streamNameProblem(streamId);
  if (problem !== undefined) throw new BadRequestError(problem);
  return streamId;
}

/** The URL path of `streamId` below a route group: each part percent-encoded, the app's "/" kept. */
export function streamPath(streamId: string): string {
  return streamId.split("/").map(encodeURIComponent).join("/");
}

/** The request body parsed as JSON; an empty body is `{}`. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new BadRequestError(`request body is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
}
