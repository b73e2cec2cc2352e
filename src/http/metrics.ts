/**
 * `GET /metrics`: Prometheus text exposition format (version 0.0.4), rendered from what the service's parts report
 * at scrape time. Nothing here keeps state; the counters are the owners' (sources, pipelines, storage, webhooks).
 * Per-stream figures carry a `stream` label; those of a recording's pipeline start again when the publisher comes
 * back within the splice window (a counter reset, which Prometheus's rate() takes in its stride).
 */

import process from "node:process";
import type { Catalog } from "../catalog/mod.ts";
import type { WebhookStatus } from "../events/mod.ts";
import type { RecordingManager, StreamHub } from "../recorder/mod.ts";
import type { HistogramSnapshot } from "../shared/latency_histogram.ts";
import type { FilesStatus } from "../storage/mod.ts";

export interface MetricsSources {
  hub: StreamHub;
  manager: RecordingManager;
  catalog: Catalog;
  files: { status(): FilesStatus };
  /** Absent when no webhook is configured. */
  webhooks?: { readonly status: WebhookStatus } | undefined;
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

/**
 * The exposition text at `nowMs`; `eventLoopLagS` is measured by the caller (it needs a turn of the event loop).
 */
export function renderMetrics(sources: MetricsSources, eventLoopLagS: number, nowMs: number): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  };
  const one = (name: string, type: "counter" | "gauge", help: string, value: number) =>
    family(name, type, help, [[{}, value]]);
  const histogram = (name: string, help: string, snapshot: HistogramSnapshot) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [bound, count] of snapshot.buckets) out.push(`${name}_bucket{le="${bound}"} ${count}`);
    out.push(`${name}_bucket{le="+Inf"} ${snapshot.count}`);
    out.push(`${name}_sum ${formatValue(snapshot.sumS)}`, `${name}_count ${snapshot.count}`);
  };

  const counters = sources.hub.list().map((source) => ({ stream: source.streamId, counters: source.counters() }));
  const perStream = (pick: (c: (typeof counters)[number]["counters"]) => number): Sample[] =>
    counters.map(({ stream, counters }) => [{ stream }, pick(counters)]);
  family("liverec_stream_up", "gauge", "1 for each stream being published.", perStream(() => 1));
  family(
    "liverec_stream_received_packets_total",
    "counter",
    "RTP packets (WebRTC) or audio and video messages (RTMP) received from the publisher.",
    perStream((c) => c.packets),
  );
  family("liverec_stream_received_bytes_total", "counter", "Payload bytes received.", perStream((c) => c.bytes));
  family("liverec_stream_nacks_sent_total", "counter", "RTCP NACKs sent for lost packets.", perStream((c) => c.nacks));
  family(
    "liverec_stream_retransmitted_packets_total",
    "counter",
    "Packets recovered through retransmission (RTX) after a NACK.",
    perStream((c) => c.retransmissions),
  );
  family(
    "liverec_stream_keyframe_requests_total",
    "counter",
    "Keyframe requests (RTCP PLI) sent to the publisher.",
    perStream((c) => c.keyframeRequests),
  );

  const recordings = sources.manager.list();
  const withStats = recordings.flatMap((r) => r.stats === undefined ? [] : [{ stream: r.streamId, stats: r.stats }]);
  family(
    "liverec_stream_recording_state",
    "gauge",
    "1 for the state of each stream's recording: recording, or waiting for its publisher in the splice window.",
    recordings.map((r) => [{ stream: r.streamId, state: r.state }, 1]),
  );
  family(
    "liverec_stream_packets_lost_total",
    "counter",
    "RTP packets the recording never received (after retransmissions), since its publisher (re)connected.",
    withStats.map(({ stream, stats }) => [{ stream }, stats.lostPackets]),
  );
  family(
    "liverec_stream_frames_recorded_total",
    "counter",
    "Frames written to the recording, since its publisher (re)connected.",
    withStats.flatMap(({ stream, stats }): Sample[] => [
      [{ stream, kind: "video" }, stats.videoFrames],
      [{ stream, kind: "audio" }, stats.audioFrames],
    ]),
  );
  family(
    "liverec_stream_frames_dropped_total",
    "counter",
    "Frames not recorded (before the first keyframe, broken by loss, or going back in time).",
    withStats.map(({ stream, stats }) => [{ stream }, stats.droppedFrames + stats.droppedAccessUnits]),
  );

  const byState = sources.catalog.countByState();
  family(
    "liverec_recordings",
    "gauge",
    "Recordings in the index, by state.",
    Object.entries(byState).map(([state, count]) => [{ state }, count]),
  );
  one(
    "liverec_segments_written_total",
    "counter",
    "Media segments stored since start.",
    sources.manager.segmentsWritten,
  );

  const files = sources.files.status();
  if (files.spoolLimitBytes !== undefined) {
    one("liverec_spool_bytes", "gauge", "Bytes in the spool (object stores).", Math.max(0, files.localBytes));
    one("liverec_spool_limit_bytes", "gauge", "The spool's limit (spool_max_mb).", files.spoolLimitBytes);
  }
  histogram("liverec_storage_write_seconds", "Local writes of fragments and manifests.", files.writeLatency);
  histogram("liverec_storage_fsync_seconds", "Their fdatasyncs.", files.fsyncLatency);
  const upload = files.upload;
  if (upload !== undefined) {
    one("liverec_upload_queue_objects", "gauge", "Objects in the spool waiting for upload.", upload.pendingObjects);
    one("liverec_upload_queue_bytes", "gauge", "Bytes in the spool waiting for upload.", upload.pendingBytes);
    one("liverec_uploaded_objects_total", "counter", "Objects uploaded to the store.", upload.uploadedObjects);
    one("liverec_upload_failures_total", "counter", "Failed upload attempts (retried).", upload.failedAttempts);
    const oldestAgeS = upload.oldestPendingAtMs === undefined ? 0 : (nowMs - upload.oldestPendingAtMs) / 1000;
    one("liverec_upload_queue_oldest_age_seconds", "gauge", "Age of the oldest object waiting (0: none).", oldestAgeS);
  }
  const webhooks = sources.webhooks?.status;
  if (webhooks !== undefined) {
    one("liverec_webhook_backlog", "gauge", "Webhook deliveries not done yet.", webhooks.pending);
    one("liverec_webhook_delivered_total", "counter", "Webhook deliveries done.", webhooks.delivered);
    one("liverec_webhook_failures_total", "counter", "Failed webhook attempts (retried).", webhooks.failedAttempts);
    one("liverec_webhook_dropped_total", "counter", "Webhook deliveries given up.", webhooks.dropped);
  }

  const cpu = process.cpuUsage();
  one("process_cpu_seconds_total", "counter", "User and system CPU time.", (cpu.user + cpu.system) / 1e6);
  one("process_resident_memory_bytes", "gauge", "Resident set size.", process.memoryUsage.rss());
  one("liverec_event_loop_lag_seconds", "gauge", "How late a zero-delay timer ran at this scrape.", eventLoopLagS);
  return out.join("\n") + "\n";
}

/** `{a="x",b="y"}` with values escaped as the format wants (backslash, quote, newline); empty for no labels. */
function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const escape = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `{${entries.map(([name, value]) => `${name}="${escape(value)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}

/** How long a zero-delay timer takes to run: the event loop's lag right now, in seconds. */
export async function measureEventLoopLagS(): Promise<number> {
  const startMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return (performance.now() - startMs) / 1000;
}
