/** Public surface of src/catalog: the embedded recordings index (SQLite) and the JSON shapes the API answers with. */

export {
  type AckRequest,
  Catalog,
  isTerminal,
  type ListFilter,
  MAX_PAGE_LIMIT,
  type RecordingChange,
  type RecordingInput,
  type RecordingRow,
  type RecordingState,
  type SyncKey,
  type SyncPage,
  type SyncQuery,
} from "./catalog.ts";
export {
  ackRequestFromJson,
  deleteKeysFromJson,
  listFilterFromQuery,
  type Live777Status,
  type RecordingJson,
  recordingJson,
  type SyncPageJson,
  syncPageJson,
  syncQueryFromQuery,
  type SyncSessionJson,
} from "./catalog_json.ts";
