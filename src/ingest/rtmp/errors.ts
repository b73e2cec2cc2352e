/** The one error type of the RTMP transport: what a peer sent cannot be handled, and the connection must end. */

import { BadRequestError } from "../../shared/errors.ts";

/**
 * Bytes from an RTMP peer break the protocol (handshake, chunk stream or AMF0); the message names the offending
 * value. The only error the transport's decoders throw on any input: anything else thrown is a bug.
 */
export class RtmpProtocolError extends BadRequestError {
  override name = "RtmpProtocolError";
}
