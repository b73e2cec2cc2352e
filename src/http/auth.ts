/** Bearer-token authentication for the API and WHIP routes, when `[auth] tokens` is set. */

import type { MiddlewareHandler } from "hono";
import { tokenChecker } from "../shared/token_check.ts";
import { errorBody } from "./errors.ts";

/** Lets a request through when it carries one of `tokens` (or when there are none). */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  const known = tokenChecker(tokens);
  return async (c, next) => {
    if (tokens.length === 0 || c.req.method === "OPTIONS") return await next();
    const header = c.req.header("authorization") ?? "";
    const given = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (given === undefined || !known(given)) {
      c.header("WWW-Authenticate", 'Bearer realm="liverec"');
      const message = given === undefined ? "missing bearer token" : "invalid bearer token";
      return c.json(errorBody("unauthorized", message), 401);
    }
    await next();
  };
}
