/** Bearer-token authentication for the API and WHIP routes, when `[auth] tokens` is set. */

import type { MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";

/** Lets a request through when it carries one of `tokens` (or when there are none). */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  const encoder = new TextEncoder();
  const known = tokens.map((token) => encoder.encode(token));
  return async (c, next) => {
    if (known.length === 0 || c.req.method === "OPTIONS") return await next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer (\S+)$/i.exec(header);
    const given = match === null ? undefined : encoder.encode(match[1]!);
    if (given === undefined || !known.some((token) => sameBytes(token, given))) {
      c.header("WWW-Authenticate", 'Bearer realm="liverec"');
      const message = given === undefined ? "missing bearer token" : "invalid bearer token";
      return c.json(errorBody("unauthorized", message), 401);
    }
    await next();
  };
}

/** Compares without stopping at the first difference. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ (b[i % Math.max(b.length, 1)] ?? 0);
  return difference === 0;
}
