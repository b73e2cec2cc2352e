/** WHIP routes (RFC 9725): POST an offer, PATCH trickled candidates, DELETE the session resource. */

import { Hono } from "hono";
import type { WhipIngest } from "../ingest/mod.ts";
import { BadRequestError } from "../shared/errors.ts";
import { errorBody } from "./errors.ts";
import { streamParam, streamPath, streamPaths } from "./request.ts";

const MAX_OFFER_BYTES = 64 * 1024;

/** Routes under `/whip`: `/whip/:stream` or `/whip/:app/:name`, and the session resource below it. */
export function whipRoutes(ingest: WhipIngest): Hono {
  const app = new Hono();

  app.on("POST", streamPaths(), async (c) => {
    const streamId = streamParam(c);
    const type = mediaType(c.req.header("content-type"));
    if (type !== "application/sdp") {
      return c.json(errorBody("unsupported_media_type", `expected Content-Type application/sdp, got "${type}"`), 415);
    }
    const offer = await c.req.text();
    if (offer.length > MAX_OFFER_BYTES) throw new BadRequestError(`SDP offer larger than ${MAX_OFFER_BYTES} bytes`);
    const { sessionId, answerSdp } = await ingest.publish(streamId, offer);
    c.header("Location", `/whip/${streamPath(streamId)}/${sessionId}`);
    c.header("Content-Type", "application/sdp");
    return c.body(answerSdp, 201);
  });

  app.on("PATCH", streamPaths("/:session"), async (c) => {
    const type = mediaType(c.req.header("content-type"));
    if (type !== "application/trickle-ice-sdpfrag") {
      return c.json(
        errorBody("unsupported_media_type", `expected application/trickle-ice-sdpfrag, got "${type}"`),
        415,
      );
    }
    await ingest.trickle(streamParam(c), c.req.param("session")!, await c.req.text());
    return c.body(null, 204);
  });

  app.on("DELETE", streamPaths("/:session"), async (c) => {
    await ingest.end(streamParam(c), c.req.param("session")!);
    return c.body(null, 200);
  });

  return app;
}

/** The media type of a Content-Type header, without parameters, lower case ("" when absent). */
function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}
