/**
 * The web console: `GET /` is its page and `GET /console/{file}` its script, style and players, all embedded at
 * install time (scripts/build_web.ts). The page holds no secret: it asks for a token, when the API wants one, and
 * keeps it in the browser.
 */

import { Hono } from "hono";
import { NotFoundError } from "../shared/errors.ts";

type Assets = Record<string, { contentType: string; body: string }>;

export function consoleRoutes(): Hono {
  // Loaded at the first request: the players alone are 1.4 MB of script, which an unwatched service need not hold.
  let assets: Promise<Assets> | undefined;
  const serve = async (name: string) => {
    assets ??= import("../../web/dist/assets.gen.ts").then((module) => module.CONSOLE_ASSETS);
    const asset = (await assets)[name];
    if (asset === undefined) throw new NotFoundError(`no console file "${name}"`);
    return new Response(asset.body, {
      headers: { "content-type": asset.contentType, "cache-control": "no-cache", "x-content-type-options": "nosniff" },
    });
  };
  const app = new Hono();
  app.get("/", () => serve("index.html"));
  app.get("/console/:file", (c) => serve(c.req.param("file")));
  return app;
}
