import assert from "node:assert/strict";
import { bindingRequestUfrag, isStunResponse } from "./udp_mux.ts";

/** A STUN message of `type` with the given attributes (type, value), each padded to 4 bytes (RFC 5389 §15). */
function stun(type: number, attributes: [number, Uint8Array][]): Uint8Array {
  const body = attributes.flatMap(([attr, value]) => {
    const padded = new Uint8Array(4 + Math.ceil(value.length / 4) * 4);
    padded.set([attr >> 8, attr & 0xff, value.length >> 8, value.length & 0xff]);
    padded.set(value, 4);
    return [...padded];
  });
  const header = [type >> 8, type & 0xff, body.length >> 8, body.length & 0xff, 0x21, 0x12, 0xa4, 0x42];
  return Uint8Array.from([...header, ...new Array(12).fill(7), ...body]);
}

const text = (s: string) => new TextEncoder().encode(s);
const PRIORITY = 0x0024;
const USERNAME = 0x0006;

Deno.test("bindingRequestUfrag reads our fragment from a binding request's USERNAME, after other attributes", () => {
  const request = stun(0x0001, [[PRIORITY, new Uint8Array([1, 2, 3, 4])], [USERNAME, text("a1b2:remote9")]]);
  assert.equal(bindingRequestUfrag(request), "a1b2");
  assert.equal(bindingRequestUfrag(stun(0x0001, [[USERNAME, text("odd")]])), "odd");
});

Deno.test("bindingRequestUfrag is undefined for anything but a whole binding request with a USERNAME", () => {
  const request = stun(0x0001, [[USERNAME, text("a1b2:remote9")]]);
  assert.equal(bindingRequestUfrag(stun(0x0101, [[USERNAME, text("a1b2:remote9")]])), undefined, "a response");
  assert.equal(bindingRequestUfrag(stun(0x0001, [[PRIORITY, new Uint8Array(4)]])), undefined, "no USERNAME");
  assert.equal(bindingRequestUfrag(request.subarray(0, request.length - 8)), undefined, "truncated");
  const rtp = new Uint8Array(request);
  rtp[0] = 0x80;
  assert.equal(bindingRequestUfrag(rtp), undefined, "RTP");
  const noCookie = new Uint8Array(request);
  noCookie[4] = 0;
  assert.equal(bindingRequestUfrag(noCookie), undefined, "no magic cookie");
});

Deno.test("isStunResponse tells success and error responses from requests, indications and media", () => {
  assert.equal(isStunResponse(stun(0x0101, [])), true);
  assert.equal(isStunResponse(stun(0x0111, [])), true);
  assert.equal(isStunResponse(stun(0x0001, [])), false);
  assert.equal(isStunResponse(stun(0x0011, [])), false);
  assert.equal(isStunResponse(new Uint8Array([0x80, 0x60, ...new Array(30).fill(0)])), false);
  assert.equal(isStunResponse(new Uint8Array([0x16, 0xfe, 0xfd])), false);
});
