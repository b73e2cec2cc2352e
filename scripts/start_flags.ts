/**
 * The flags `deno task start` gives Deno before main.ts. deno.json is their one source: the test helpers and the
 * benchmark run the service as a direct child process with the same flags, so that what they measure is what runs.
 */

/** E.g. `["--allow-all", "--v8-flags=--max-semi-space-size=8,--initial-old-space-size=32"]`. */
export function startTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const words = (config.tasks.start as string).split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}
