/**
 * Public surface of src/config: TOML text -> validated Config, the OpenDAL mapping of the storage config, and the
 * naming rules for streams and storage paths. Nothing here reads files or the environment.
 */

export {
  type AuthConfig,
  type Config,
  type HttpConfig,
  parseConfig,
  type RecorderConfig,
  type WebhooksConfig,
  type WebRtcConfig,
} from "./config.ts";
export {
  autoStreamRules,
  defaultRuleSettings,
  type OnDemand,
  type RecordFormat,
  type RecordMode,
  type RecordRule,
  resolveRule,
  type RuleSettings,
  settingRangeProblem,
} from "./rules.ts";
export { escapedTime, renderTemplate, templateProblem } from "./path_template.ts";
export type { HostPort } from "./checks.ts";
export {
  DEFAULT_STORAGE_ROOT,
  type FsStorageConfig,
  openDalOptions,
  type OssStorageConfig,
  type S3StorageConfig,
  type StorageConfig,
  type StorageType,
} from "./storage.ts";
export {
  MAX_PATH_LENGTH,
  MAX_PATH_SEGMENT_LENGTH,
  MAX_STREAM_NAME_LENGTH,
  relativePathProblem,
  streamNameProblem,
  streamPatternMatches,
  streamPatternProblem,
} from "./names.ts";

import { defaultConfigToml } from "./default_config.ts";

/** Text of the default config.toml (the repository's config.toml holds the same). */
export const DEFAULT_CONFIG_TOML: string = defaultConfigToml;
