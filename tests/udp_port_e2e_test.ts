/**
 * One UDP port for WebRTC: publishers at once all reach the service on the port it logs, each is recorded whole, and
 * the service holds that one UDP socket and no other, with a receive buffer large enough for them all. libsrtp
 * decrypts where installed, else liverec's own SRTP. A port in use stops the start with one line.
 */

import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { probe, run } from "./helpers/media_tools.ts";
import { publishInBackground, recordingFinished, startService, todayFolder, waitFor } from "./helpers/service.ts";

const clip = await loadClip();

/** The local ports of the UDP sockets process `pid` holds (its socket inodes looked up in /proc/net/udp). */
async function udpPortsOf(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    const target = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of (await Deno.readTextFile(table)).split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9]!)) ports.push(parseInt(fields[1]!.split(":")[1]!, 16));
    }
  }
  return ports;
}

Deno.test("three publishers at once share the one UDP port, which is the service's only UDP socket", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
  try {
    const port = Number(/ udp=(\d+)/.exec(service.logs())?.[1]);
    assert.ok(port > 0, `the log names the port:\n${service.logs()}`);
    const streams = ["one", "two", "three"];
    const publishes = streams.map((stream) =>
      publishInBackground({ url: `${service.url}/whip/${stream}`, seconds: 6, clip })
    );
    await waitFor("every publish to be recording", async () => {
      const statuses = await Promise.all(streams.map((s) => service.fetch(`/api/record/${s}`).then((r) => r.json())));
      return statuses.every((status) => status.recording && (status.segments ?? 0) >= 1) || undefined;
    }, 20_000);
    assert.deepEqual(await udpPortsOf(service.pid), [port]);
    // libsrtp (installed by scripts/test_deps.sh) decrypts the media, in the profile it decrypts fastest, and liverec
    // takes it from the socket to the recorder without werift.
    assert.match(service.logs(), /webrtc srtp srtp="libsrtp 2\.\d+\.\d+"/);
    for (const stream of streams) {
      assert.match(
        service.logs(),
        new RegExp(`publish connected stream=${stream} srtp="libsrtp SRTP_AEAD_AES_128_GCM" media=liverec`),
      );
    }
    // Every session's packets queue in that socket: it has the large receive buffer it asked for (as root, beyond
    // net.core.rmem_max), which the kernel reports doubled.
    if (Deno.uid() === 0) {
      const socket = await run("ss", ["-u", "-a", "-m", "-n", `sport = :${port}`]);
      assert.equal(Number(/\brb(\d+)/.exec(socket.stdout)?.[1]), 2 * 8 * 1024 * 1024, socket.stdout);
      assert.doesNotMatch(service.logs(), /receive buffer/);
    }
    const sent = await Promise.all(publishes.map((p) => p.result));
    for (const [i, stream] of streams.entries()) {
      await recordingFinished(service, stream);
      const mpd = join(service.root, stream, todayFolder(), "manifest.mpd");
      const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
      assert.equal(Number(video?.nb_read_frames), sent[i]!.videoFrames, `every frame of ${stream}`);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("without libsrtp, liverec's own SRTP decrypts the media, and the log says why", async () => {
  const service = await startService({
    toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n`,
    env: { LIVEREC_LIBSRTP: "/nonexistent/libsrtp2.so.1" },
  });
  try {
    const sent = await publishInBackground({ url: `${service.url}/whip/own`, seconds: 4, clip }).result;
    await recordingFinished(service, "own");
    assert.match(service.logs(), /webrtc srtp srtp="liverec's own \(\/nonexistent\/libsrtp2\.so\.1 not found\)"/);
    // In the profile Deno decrypts fastest without libsrtp.
    assert.match(
      service.logs(),
      /publish connected stream=own srtp="liverec SRTP_AES128_CM_HMAC_SHA1_80" media=liverec/,
    );
    const mpd = join(service.root, "own", todayFolder(), "manifest.mpd");
    const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
    assert.equal(Number(video?.nb_read_frames), sent.videoFrames);
  } finally {
    await service.stop();
  }
});

Deno.test("a WebRTC UDP port in use stops the start with one line", async () => {
  const busy = createSocket("udp4");
  await new Promise<void>((resolve) => busy.bind({ address: "0.0.0.0", port: 0 }, resolve));
  const port = busy.address().port;
  try {
    const error = await startService({ toml: `[webrtc]\nudp_port = ${port}\n` }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    assert.match(
      error ?? "",
      new RegExp(`liverec: cannot listen for WebRTC on 0\\.0\\.0\\.0:${port}/udp: address in use`),
    );
    assert.doesNotMatch(error ?? "", /\n\s+at /, "no stack trace");
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
});
