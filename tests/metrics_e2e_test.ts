/**
 * Prometheus metrics end to end: while the test clip records over WHIP, `GET /metrics` is read by Prometheus's own
 * tools: `promtool check metrics` parses and lints the text, and a real Prometheus server (Debian's) scrapes both the
 * API address (with the bearer token) and the open `metrics_listen` address, and answers queries in which the
 * counters move. Needs Debian's `prometheus` package (installed by scripts/test_deps.sh).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { run } from "./helpers/media_tools.ts";
import { publishInBackground, startService, waitFor } from "./helpers/service.ts";

const TOKEN = "metrics-test-token-0123";
const STREAM = "metrics-1";

/** A free TCP port on loopback (for Prometheus's own web listener). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The value of `metric{labels}` in exposition text, or undefined when the sample is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("a real Prometheus scrapes /metrics with the token and the open metrics address; the counters move", async () => {
  const clip = await loadClip();
  // The webhook goes to a port nobody listens on: its failures are counted.
  const service = await startService({
    http: `metrics_listen = "127.0.0.1:0"\n`,
    toml: `[recorder]\nauto_streams = ["metrics-*"]\nsegment_duration = 1\n\n[auth]\ntokens = ["${TOKEN}"]\n\n` +
      `[webhooks]\nurls = ["http://127.0.0.1:9/hook"]\ntimeout = 1\n`,
  });
  const workDir = await Deno.makeTempDir({ prefix: "liverec-prometheus-" });
  let prometheus: Deno.ChildProcess | undefined;
  const publish = publishInBackground({ url: `${service.url}/whip/${STREAM}`, seconds: 12, clip, token: TOKEN });
  try {
    const openUrl = /metrics=(http:\/\/\S+\/metrics)/.exec(service.logs())?.[1];
    assert.ok(openUrl !== undefined, `the log names the open metrics address\n${service.logs()}`);
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    assert.equal((await service.fetch("/metrics")).status, 401, "the API's /metrics wants the token");
    assert.equal((await fetch(openUrl.replace(/\/metrics$/, "/api/streams"))).status, 404, "only /metrics there");

    const scrape = async () => {
      const response = await service.fetch("/metrics", auth);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return await response.text();
    };
    const first = await waitFor("the stream to record a segment", async () => {
      const text = await scrape();
      return (sample(text, "liverec_segments_written_total") ?? 0) >= 1 ? text : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await scrape();
    const open = await (await fetch(openUrl)).text();
    assert.match(open, /^liverec_stream_up\{stream="metrics-1"\} 1$/m, "the open address serves the same metrics");

    // Prometheus's own parser and linter.
    const textFile = join(workDir, "metrics.txt");
    await Deno.writeTextFile(textFile, second);
    const lint = await run("sh", ["-c", `promtool check metrics < '${textFile}'`]);
    assert.equal(lint.code, 0, `promtool check metrics\n${lint.stdout}${lint.stderr}\n${second}`);

    const stream = `{stream="${STREAM}"}`;
    const moved = (name: string, series = `${name}${stream}`) => {
      const [a, b] = [sample(first, series), sample(second, series)];
      assert.ok(a !== undefined && b !== undefined && b > a, `${series} moved: ${a} -> ${b}\n${second}`);
    };
    moved("liverec_stream_received_packets_total");
    moved("liverec_stream_received_bytes_total");
    moved(
      "liverec_stream_frames_recorded_total",
      `liverec_stream_frames_recorded_total{stream="${STREAM}",kind="video"}`,
    );
    moved(
      "liverec_stream_frames_recorded_total",
      `liverec_stream_frames_recorded_total{stream="${STREAM}",kind="audio"}`,
    );
    moved("liverec_segments_written_total", "liverec_segments_written_total");
    moved("process_cpu_seconds_total", "process_cpu_seconds_total");
    assert.equal(sample(second, `liverec_stream_recording_state{stream="${STREAM}",state="recording"}`), 1);
    assert.ok((sample(second, `liverec_stream_keyframe_requests_total${stream}`) ?? 0) >= 1, "a PLI was sent");
    assert.equal(sample(second, `liverec_stream_packets_lost_total${stream}`), 0, "nothing lost on loopback");
    assert.equal(sample(second, 'liverec_recordings{state="recording"}'), 1);
    assert.ok((sample(second, 'liverec_storage_fsync_seconds_bucket{le="+Inf"}') ?? 0) > 0, "fsyncs timed");
    assert.ok((sample(second, "liverec_storage_write_seconds_count") ?? 0) > 0, "writes timed");
    assert.ok((sample(second, "liverec_webhook_failures_total") ?? 0) > 0, "the unreachable webhook's failures");
    assert.ok((sample(second, "liverec_webhook_backlog") ?? 0) > 0, "its backlog");
    assert.ok((sample(second, "process_resident_memory_bytes") ?? 0) > 10e6, "RSS");
    assert.ok((sample(second, "liverec_event_loop_lag_seconds") ?? -1) >= 0, "event-loop lag");

    // A real Prometheus: the token job and the open job both up, and a counter increasing between its scrapes.
    const port = freePort();
    const target = (url: string) => new URL(url).host;
    await Deno.writeTextFile(join(workDir, "token"), TOKEN);
    await Deno.writeTextFile(
      join(workDir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n` +
        `  - job_name: with_token\n    authorization:\n      credentials_file: ${join(workDir, "token")}\n` +
        `    static_configs:\n      - targets: ["${target(service.url)}"]\n` +
        `  - job_name: open\n    static_configs:\n      - targets: ["${target(openUrl)}"]\n`,
    );
    prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${join(workDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(workDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const query = async (promql: string) => {
      const url = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`;
      const body = await (await fetch(url)).json() as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return body.data.result;
    };
    await waitFor("Prometheus to scrape both jobs", async () => {
      const up = await query("up").catch(() => []);
      return up.length === 2 && up.every((r) => r.value[1] === "1") ? up : undefined;
    }, 20_000);
    const increase = await waitFor("Prometheus to see the packet counter increase", async () => {
      const result = await query(
        `increase(liverec_stream_received_packets_total{job="with_token",stream="${STREAM}"}[5s])`,
      );
      const value = Number(result[0]?.value[1] ?? 0);
      return value > 0 ? value : undefined;
    }, 15_000);
    console.log(`Prometheus: packets received increased by ${increase} over 5 s`);

    await publish.result;
  } finally {
    prometheus?.kill();
    await prometheus?.status;
    await publish.result.catch(() => {});
    await service.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
});
