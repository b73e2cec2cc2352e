/** Reading what every route group reads alike: a stream name from the path, a JSON body. Bad input is a 400. */

import type { Context } from "hono";
import { streamNameProblem } from "../config/mod.ts";
import { BadRequestError } from "../shared/errors.ts";

/** `streamId` when it is a valid stream name, else a BadRequestError saying why. */
export function checkedStream(streamId: string): string {
  const problem = streamNameProblem(streamId);
  if (problem !== undefined) throw new BadRequestError(problem);
  return streamId;
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
