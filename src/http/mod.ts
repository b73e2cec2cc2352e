/** The HTTP layer: hono is imported here only. */

export { type AppDeps, createApp, createMetricsApp } from "./app.ts";
