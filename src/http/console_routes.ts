/**
 * The web console: `GET /` is its page and `GET /console/{file}` its script, style and players, all embedded at
 * install time (scripts/build_web.ts). The page holds no secret: it asks for a token, when the API wants one, and
 * keeps it in the browser.
 */

import { Hono } from "hono";
import { CONSOLE_ASSETS } from "../../web/dist/assets.gen.ts";
import { NotFoundError } from "../shared/errors.ts";

export function consoleRoutes(): Hono {
  const app = new Hono();
  const serve = (name: string) => {
    const asset = CONSOLE_ASSETS[name];
    if (asset === undefined) throw new NotFoundError(`no console file "${name}"`);
    return new Response(asset.body, {
      headers: { "content-type": asset.contentType, "cache-control": "no-cache", "x-content-type-options": "nosniff" },
    });
  };
  app.get("/", () => serve("index.html"));
  app.get("/console/:file", (c) => serve(c.req.param("file")));
  return app;
}
