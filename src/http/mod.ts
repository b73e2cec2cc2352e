/** The HTTP layer: hono is imported here only. */

export { type AppDeps, createApp } from "./app.ts";
