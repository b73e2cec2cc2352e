/**
 * Plays an MPD in stock dash.js inside headless Chromium (playwright-core, the Debian /usr/bin/chromium, offline
 * flags) and reads back what the player did. The page (tests/fixtures/player.html) and dash.all.min.js are served by
 * a loopback Deno.serve in the test process. It judges nothing itself: tests poll snapshots and assert.
 */

import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { waitFor } from "./service.ts";

const PLAYER_HTML = new URL("../fixtures/player.html", import.meta.url);
const DASH_JS = new URL("../../node_modules/dashjs/dist/modern/umd/dash.all.min.js", import.meta.url);
const CHROMIUM = "/usr/bin/chromium";
/** No network beyond loopback, no first-run or background work, and autoplay without a user gesture. */
const CHROMIUM_ARGS = [
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
  videoTrack: { codec: string | null; mimeType: string | null } | null;
  audioTrack: { codec: string | null; mimeType: string | null } | null;
  /** player.isDynamic(); null before the manifest is loaded. */
  dynamic: boolean | null;
  liveLatencyS: number | null;
  durationS: number | null;
  /** dash.js ERROR / PLAYBACK_ERROR events and <video> error events, in order. */
  errors: string[];
  /** A few dash.js lifecycle events, each prefixed with seconds since the page loaded. */
  events: string[];
}

/** A player page open on one MPD. */
export interface Player {
  snapshot(): Promise<PlayerSnapshot>;
  /** The page's console messages and uncaught errors so far (dash.js logs warnings and errors there). */
  consoleLines(): string[];
  /**
   * Polls snapshots every 100 ms until `check` returns a value other than undefined; on timeout the error carries
   * the last snapshot and the console tail.
   */
  waitUntil<T>(what: string, check: (s: PlayerSnapshot) => T | undefined, timeoutMs: number): Promise<T>;
}

/**
 * Serves the player page, launches Chromium with a fresh profile, opens `mpdUrl` in dash.js and hands the player to
 * `use`. When `use` throws, a screenshot is saved to a temporary file whose path is added to the error. Everything
 * started here is stopped before it returns.
 */
export async function withPlayer<T>(mpdUrl: string, use: (player: Player) => Promise<T>): Promise<T> {
  const server = servePlayerPage();
  const profileDir = await Deno.makeTempDir({ prefix: "liverec-chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = context.pages()[0] ?? await context.newPage();
    const player = playerOn(page);
    await page.goto(`${server.url}/?mpd=${encodeURIComponent(mpdUrl)}`);
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

function playerOn(page: Page): Player {
  const lines: string[] = [];
  page.on("console", (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => lines.push(`pageerror: ${error.message}`));
  const snapshot = () =>
    page.evaluate(() => (globalThis as unknown as { playerSnapshot(): PlayerSnapshot }).playerSnapshot());
  return {
    snapshot,
    consoleLines: () => [...lines],
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

/** The player page and dash.js on an ephemeral loopback port. */
function servePlayerPage(): { url: string; close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/") {
      return new Response(await Deno.readFile(PLAYER_HTML), { headers: { "content-type": "text/html" } });
    }
    if (pathname === "/dash.all.min.js") {
      return new Response(await Deno.readFile(DASH_JS), { headers: { "content-type": "text/javascript" } });
    }
    return new Response("not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}
