import assert from "node:assert/strict";
import { isHostName, isIPv4, isIPv6, parseHostPort, parseStunUri } from "./checks.ts";

Deno.test("isIPv4 accepts dotted quads only, without leading zeros", () => {
  for (const ip of ["0.0.0.0", "127.0.0.1", "255.255.255.255", "10.1.20.3"]) assert.equal(isIPv4(ip), true, ip);
  for (const ip of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "1.2.3.4 ", "", "a.b.c.d", "1..2.3"]) {
    assert.equal(isIPv4(ip), false, ip);
  }
});

Deno.test("isIPv6 follows RFC 4291 text forms and refuses zones and brackets", () => {
  const good = ["::", "::1", "1::", "fe80::1", "2001:db8::8a2e:370:7334", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::"];
  for (const ip of [...good, "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4"]) {
    assert.equal(isIPv6(ip), true, ip);
  }
  const bad = ["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", ":1::", "1::2:"];
  for (const ip of [...bad, "fe80::1%eth0", "[::1]", "1.2.3.4", "1.2.3.4::", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4"]) {
    assert.equal(isIPv6(ip), false, ip);
  }
});

Deno.test("isHostName accepts DNS names and refuses numeric look-alikes", () => {
  for (const name of ["localhost", "stun.l.google.com", "a-b.example.", "x1"]) {
    assert.equal(isHostName(name), true, name);
  }
  for (const name of ["", "-a", "a-", "a_b", "a..b", "999.1.1.1", "1.2.3", `${"a".repeat(64)}.com`, "ä.com"]) {
    assert.equal(isHostName(name), false, name);
  }
});

Deno.test("parseHostPort splits host and port, unbracketing IPv6", () => {
  assert.deepEqual(parseHostPort("0.0.0.0:7777", 0), { ok: true, value: { hostname: "0.0.0.0", port: 7777 } });
  assert.deepEqual(parseHostPort("[::]:8080", 0), { ok: true, value: { hostname: "::", port: 8080 } });
  assert.deepEqual(parseHostPort("localhost:0", 0), { ok: true, value: { hostname: "localhost", port: 0 } });
  for (
    const bad of ["::1:7777", "[::1]", "[::1]7777", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "h:+1", "h:0x10", ":80"]
  ) {
    assert.equal(parseHostPort(bad, 0).ok, false, bad);
  }
  assert.equal(parseHostPort("a:0", 1).ok, false);
});

Deno.test("parseStunUri canonicalises to stun:host:port with the default port 3478", () => {
  assert.deepEqual(parseStunUri("stun:stun.l.google.com:19302"), { ok: true, value: "stun:stun.l.google.com:19302" });
  assert.deepEqual(parseStunUri("stun:example.org"), { ok: true, value: "stun:example.org:3478" });
  assert.deepEqual(parseStunUri("stun:[2001:db8::1]"), { ok: true, value: "stun:[2001:db8::1]:3478" });
  assert.deepEqual(parseStunUri("stun:[2001:db8::1]:5349"), { ok: true, value: "stun:[2001:db8::1]:5349" });
  for (const bad of ["turn:x:3478", "stuns:x:5349", "stun:", "stun:x:0", "stun:2001:db8::1", "x:3478", "stun:a b"]) {
    assert.equal(parseStunUri(bad).ok, false, bad);
  }
});
