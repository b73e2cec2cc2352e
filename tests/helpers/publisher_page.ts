/**
 * The browser side of tests/fixtures/whip_publisher.html, shared by the Chromium (playwright) and Firefox (puppeteer)
 * tests: the page served on loopback, and what it keeps on window for the tests to read. It drives no browser.
 */

const PAGE = new URL("../fixtures/whip_publisher.html", import.meta.url);

/** What window.publisher in the publisher page holds. */
export interface PublisherState {
  connectionState: string;
  iceConnectionState: string;
  states: string[];
  errors: string[];
  offerSdp: string | null;
  answerSdp: string | null;
  whipStatus: number | null;
  location: string | null;
  deleteStatus: number | null;
  closed: boolean;
  /** With ?trickle=1: the status of each PATCH, once all were sent. */
  patchStatuses: number[] | null;
  /** Video frames sent, counted by unpublish() after the camera stopped. */
  videoFramesSent: number | null;
}

/** What window.outboundVideo() returns: the browser's own account of the video it sends. */
export interface OutboundVideo {
  mimeType: string | null;
  sdpFmtpLine: string | null;
  frameWidth: number | null;
  frameHeight: number | null;
  framesEncoded: number;
  keyFramesEncoded: number;
  pliCount: number;
  encoderImplementation: string | null;
}

/** A browser page of either driver: all the tests need of it is to run a function in it. */
interface Page {
  evaluate(fn: () => unknown): Promise<unknown>;
}

/** The publisher page on an ephemeral loopback port (a secure context, as getUserMedia needs). */
export function servePublisherPage(): { url: string; close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (new URL(request.url).pathname !== "/") return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(PAGE), { headers: { "content-type": "text/html" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

export async function publisherState(page: Page): Promise<PublisherState> {
  return await page.evaluate(() =>
    (globalThis as unknown as { publisher: PublisherState }).publisher
  ) as PublisherState;
}

export async function outboundVideo(page: Page): Promise<OutboundVideo | null> {
  return await page.evaluate(() =>
    (globalThis as unknown as { outboundVideo(): Promise<OutboundVideo | null> }).outboundVideo()
  ) as OutboundVideo | null;
}

/** Ends the publish with the page's WHIP DELETE (after stopping the camera); answers the DELETE's status. */
export async function unpublish(page: Page): Promise<number | null> {
  return await page.evaluate(() => (globalThis as unknown as { unpublish(): Promise<number | null> }).unpublish()) as
    | number
    | null;
}
