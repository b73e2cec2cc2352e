/**
 * Retention: at start-up and every `interval`, deletes the finished recordings that `retain_days`, `max_bytes` or
 * `min_free_disk` say must go (see retention_plan.ts), through the same delete path as the API, driven by the
 * recordings index (no bucket listing). Each deletion is logged and sent as the webhook `recording.deleted` with its
 * reason. When a limit is still crossed with nothing more to delete, `on_full` decides: refuse new recordings until
 * there is room again, or stop the oldest running one. With `dry_run` it only logs what it would do.
 */

import { type Catalog, isTerminal, MAX_PAGE_LIMIT, type RecordingRow } from "../catalog/mod.ts";
import { type RecordRule, resolveRule } from "../config/mod.ts";
import type { RetentionConfig } from "../config/retention.ts";
import type { RecordingManager } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { errorMessage } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { removeRecording } from "./remove_recording.ts";
import { planRetention, type RetentionLimits, type RetentionRow } from "./retention_plan.ts";
import type { WebhookOutbox } from "./webhooks.ts";

export interface RetentionOptions {
  config: RetentionConfig;
  rules: readonly RecordRule[];
  catalog: Catalog;
  files: RecordingFiles;
  manager: RecordingManager;
  clock: Clock;
  log: Logger;
  outbox: WebhookOutbox | undefined;
  /** Whether `min_free_disk` watches the local folder's disk: with fs storage, where the recordings are. */
  watchDisk: boolean;
}

/** What retention did last, for the status. */
export interface RetentionStatus {
  lastRunAt: string | undefined;
  deletedRecordings: number;
  /** The limit crossed with nothing left to delete, at the last run. */
  full: "max_bytes" | "min_free_disk" | undefined;
}

export class Retention {
  readonly #opts: RetentionOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  #status: RetentionStatus = { lastRunAt: undefined, deletedRecordings: 0, full: undefined };

  constructor(opts: RetentionOptions) {
    this.#opts = opts;
  }

  get status(): RetentionStatus {
    return { ...this.#status };
  }

  /** Runs now, then every interval (a run still under way is not started again). */
  start(): void {
    const tick = () => {
      this.#running ??= this.runOnce().finally(() => (this.#running = undefined));
    };
    tick();
    this.#timer = setInterval(tick, this.#opts.config.intervalS * 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass: plan, delete (or log, in dry run), then apply on_full. Errors are logged, never thrown. */
  async runOnce(): Promise<void> {
    const { config, catalog, manager, clock, log } = this.#opts;
    try {
      const rows = allRows(catalog);
      const running = new Set(manager.list().map((r) => r.recordId));
      const plan = planRetention(
        rows.map((row) => this.#retentionRow(row, running)),
        await this.#limits(),
        clock.nowMs(),
      );
      const byId = new Map(rows.map((row) => [row.recordId, row]));
      for (const { recordId, reason } of plan.deletions) {
        const row = byId.get(recordId)!;
        const fields = { recordId, stream: row.stream, reason, bytes: row.sizeBytes, startedAt: row.startedAt };
        if (config.dryRun) {
          log("info", "retention would delete a recording (dry_run)", fields);
          continue;
        }
        try {
          await removeRecording(this.#opts, row, reason);
        } catch (error) {
          log("warn", "retention could not delete a recording", { ...fields, error: errorMessage(error) });
          continue;
        }
        this.#status.deletedRecordings++;
        log("info", "recording deleted", fields);
      }
      this.#status.lastRunAt = new Date(clock.nowMs()).toISOString();
      this.#full(plan.stillOver);
    } catch (error) {
      log("error", "retention run failed", { error: errorMessage(error) });
    }
  }

  #retentionRow(row: RecordingRow, running: ReadonlySet<string>): RetentionRow {
    return {
      recordId: row.recordId,
      finished: isTerminal(row.state) && !running.has(row.recordId),
      startedAtMs: Date.parse(row.startedAt),
      endedAtMs: row.endedAt === undefined ? undefined : Date.parse(row.endedAt),
      sizeBytes: row.sizeBytes,
      retainDays: resolveRule(this.#opts.rules, row.stream)?.settings.retainDays,
    };
  }

  async #limits(): Promise<RetentionLimits> {
    const { config, files, watchDisk } = this.#opts;
    const min = config.minFreeDisk;
    if (min === undefined || !watchDisk) return { maxBytes: config.maxBytes, disk: undefined };
    const { freeBytes, totalBytes } = await files.diskSpace();
    const minFreeBytes = "bytes" in min ? min.bytes : (min.percent / 100) * totalBytes;
    return { maxBytes: config.maxBytes, disk: { freeBytes, minFreeBytes } };
  }

  /** on_full, when a limit is still crossed with nothing left to delete; lifts a refusal once there is room. */
  #full(over: RetentionStatus["full"]): void {
    const { config, manager, log } = this.#opts;
    const was = this.#status.full;
    this.#status.full = over;
    if (config.dryRun) {
      if (over !== undefined) log("warn", `retention: ${over} still crossed; on_full would act (dry_run)`, {});
      return;
    }
    if (over === undefined) {
      if (manager.refusing !== undefined) {
        manager.refuseNew(undefined);
        log("info", "storage has room again: new recordings are accepted", { was });
      }
      return;
    }
    if (config.onFull === "refuse_new") {
      const reason = `storage full (${over}) and no finished recording left to delete`;
      if (manager.refusing === undefined) log("warn", "new recordings are refused", { reason });
      manager.refuseNew(reason);
      return;
    }
    const oldest =
      manager.list().filter((r) => r.state === "recording").sort((a, b) => a.startedAt.localeCompare(b.startedAt))[0];
    if (oldest === undefined) return;
    log("warn", "storage full: stopping the oldest running recording", {
      limit: over,
      stream: oldest.streamId,
      recordId: oldest.recordId,
    });
    manager.stop(oldest.streamId).catch((error) => {
      log("error", "could not stop the oldest recording", { stream: oldest.streamId, error: errorMessage(error) });
    });
  }
}

/** Every row of the index, page by page. */
function allRows(catalog: Catalog): RecordingRow[] {
  const rows: RecordingRow[] = [];
  for (let offset = 0;; offset += MAX_PAGE_LIMIT) {
    const page = catalog.list({ limit: MAX_PAGE_LIMIT, offset });
    rows.push(...page);
    if (page.length < MAX_PAGE_LIMIT) return rows;
  }
}
