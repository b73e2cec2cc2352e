/**
 * Plays a DASH MPD in stock dash.js, or an HLS playlist in stock hls.js, inside headless Chromium (playwright-core,
 * the Debian /usr/bin/chromium, offline flags) and reads back what the player did. The player's page
 * (tests/fixtures/player.html or hls_player.html, both on player_page.js) and script are served by a loopback
 * Deno.serve in the test process. It judges nothing itself: tests poll snapshots and assert.
 */

import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { waitFor } from "./service.ts";

/** Which player plays the manifest: stock dash.js for an MPD, stock hls.js for an m3u8. */
export type PlayerKind = "dash.js" | "hls.js";

/** The script both player pages load first: their shared error list, event log and <video> snapshot. */
const PAGE_SCRIPT = { path: "/player_page.js", url: new URL("../fixtures/player_page.js", import.meta.url) };

/** Each player's page, and the player script it loads, by the path the page asks for it. */
const PLAYERS: Record<PlayerKind, { page: URL; scriptPath: string; script: URL }> = {
  "dash.js": {
    page: new URL("../fixtures/player.html", import.meta.url),
    scriptPath: "/dash.all.min.js",
    script: new URL("../../node_modules/dashjs/dist/modern/umd/dash.all.min.js", import.meta.url),
  },
  "hls.js": {
    page: new URL("../fixtures/hls_player.html", import.meta.url),
    scriptPath: "/hls.min.js",
    script: new URL("../../node_modules/hls.js/dist/hls.min.js", import.meta.url),
  },
};
/** Debian's Chromium, which playwright-core drives (it downloads no browser of its own). */
export const CHROMIUM = "/usr/bin/chromium";
/** No network beyond loopback, no first-run or background work, and autoplay without a user gesture. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** What window.playerSnapshot() in the player page returns. */
export interface PlayerSnapshot {
  currentTime: number;
  paused: boolean;
  ended: boolean;
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  /** HTMLMediaElement.buffered as [start, end] pairs, in seconds. */
  buffered: [number, number][];
  /** The track the player selected (dash.js), or fed to its SourceBuffer (hls.js). */
  videoTrack: { codec: string | null; mimeType: string | null } | null;
  audioTrack: { codec: string | null; mimeType: string | null } | null;
  /** hls.js only: how many audio renditions (EXT-X-MEDIA TYPE=AUDIO) the multivariant playlist offered. */
  audioRenditions?: number;
  /** Whether the player treats the presentation as live; null before the manifest is loaded. */
  dynamic: boolean | null;
  liveLatencyS: number | null;
  durationS: number | null;
  /** The player's error events (dash.js ERROR / PLAYBACK_ERROR, hls.js ERROR) and <video> error events, in order. */
  errors: string[];
  /** A few player lifecycle events, each prefixed with seconds since the page loaded. */
  events: string[];
}

/** A player page open on one manifest. */
export interface Player {
  snapshot(): Promise<PlayerSnapshot>;
  /** The page's console messages and uncaught errors so far (the players log warnings and errors there). */
  consoleLines(): string[];
  /** Every URL the page requested so far, in order (the page itself, its scripts, manifests, segments, the time). */
  requests(): string[];
  /**
   * Polls snapshots every 100 ms until `check` returns a value other than undefined; on timeout the error carries
   * the last snapshot and the console tail.
   */
  waitUntil<T>(what: string, check: (s: PlayerSnapshot) => T | undefined, timeoutMs: number): Promise<T>;
}

/**
 * Serves the player page, launches Chromium with a fresh profile, opens `manifestUrl` in `kind` (dash.js unless
 * told) and hands the player to `use`. When `use` throws, a screenshot is saved to a temporary file whose path is
 * added to the error. Everything started here is stopped before it returns.
 */
export async function withPlayer<T>(
  manifestUrl: string,
  use: (player: Player) => Promise<T>,
  kind: PlayerKind = "dash.js",
): Promise<T> {
  const server = servePlayerPage(kind);
  const profileDir = await Deno.makeTempDir({ prefix: "liverec-chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const player = playerOn(page);
    await page.goto(`${server.url}/?src=${encodeURIComponent(manifestUrl)}`);
    try {
      return await use(player);
    } catch (error) {
      throw await withScreenshot(error, page);
    }
  } finally {
    await context?.close();
    await server.close();
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
  }
}

/** Media is flowing: not paused, and at least the next frame is decoded (HAVE_FUTURE_DATA). */
export function isPlaying(s: PlayerSnapshot): boolean {
  return !s.paused && s.readyState >= 3;
}

/**
 * Waits for playback to start (15 s at most), then for its currentTime to advance by `seconds` (10 s at most);
 * answers the snapshot that shows the advance.
 */
export async function advances(player: Player, seconds: number): Promise<PlayerSnapshot> {
  const started = await player.waitUntil("playback to start", (s) => isPlaying(s) ? s : undefined, 15_000);
  const target = started.currentTime + seconds;
  return await player.waitUntil(
    `currentTime to pass ${target} s`,
    (s) => s.currentTime >= target ? s : undefined,
    10_000,
  );
}

function playerOn(page: Page): Player {
  const lines: string[] = [];
  const requests: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => lines.push(`pageerror: ${error.message}`));
  const snapshot = () =>
    page.evaluate(() => (globalThis as unknown as { playerSnapshot(): PlayerSnapshot }).playerSnapshot());
  return {
    snapshot,
    consoleLines: () => [...lines],
    requests: () => [...requests],
    async waitUntil(what, check, timeoutMs) {
      let last: PlayerSnapshot | undefined;
      try {
        return await waitFor(what, async () => check(last = await snapshot()), timeoutMs);
      } catch (error) {
        const detail = `last snapshot: ${JSON.stringify(last)}\nconsole tail:\n${lines.slice(-20).join("\n")}`;
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${detail}`, { cause: error });
      }
    },
  };
}

async function withScreenshot(error: unknown, page: Page): Promise<unknown> {
  if (!(error instanceof Error)) return error;
  try {
    const dir = await Deno.makeTempDir({ prefix: "liverec-player-failure-" });
    const path = join(dir, "screenshot.png");
    await page.screenshot({ path });
    error.message += `\nscreenshot: ${path}`;
  } catch (screenshotError) {
    error.message += `\n(no screenshot: ${String(screenshotError)})`;
  }
  return error;
}

/** The page of player `kind` and its scripts on an ephemeral loopback port. */
function servePlayerPage(kind: PlayerKind): { url: string; close(): Promise<void> } {
  const { page, scriptPath, script } = PLAYERS[kind];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/") {
      return new Response(await Deno.readFile(page), { headers: { "content-type": "text/html" } });
    }
    const js = pathname === scriptPath ? script : pathname === PAGE_SCRIPT.path ? PAGE_SCRIPT.url : undefined;
    if (js !== undefined) {
      return new Response(await Deno.readFile(js), { headers: { "content-type": "text/javascript" } });
    }
    return new Response("not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}
