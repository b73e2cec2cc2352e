/** Events: recording callbacks (webhooks) to outside receivers, signed, retried and persisted until delivered. */

export {
  type EventType,
  signature,
  type WebhookEvent,
  type WebhookOptions,
  WebhookOutbox,
  type WebhookStatus,
} from "./webhooks.ts";
export { recordingEvents, type RecordingEventsOptions, settleInterrupted } from "./recording_events.ts";
export { removeRecording } from "./remove_recording.ts";
export { Retention, type RetentionStatus } from "./retention.ts";
