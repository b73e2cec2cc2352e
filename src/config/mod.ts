/**
 * Public surface of src/config: TOML text -> validated Config, the OpenDAL mapping of the storage config, and the
 * naming rules for streams and storage paths. Nothing here reads files or the environment.
 */

export { type Config, parseConfig, SHORT_TOKEN_LENGTH } from "./config.ts";
export { type OnDemand, type RecordRule, resolveRule, type RuleSettings, settingRangeProblem } from "./rules.ts";
export { renderTemplate } from "./path_template.ts";
export {
  CREDENTIAL_KEYS,
  MAX_PRESIGN_EXPIRES_S,
  openDalOptions,
  type OssStorageConfig,
  type S3StorageConfig,
  type StorageConfig,
} from "./storage.ts";
export { relativePathProblem, streamNameProblem } from "./names.ts";

/** Text of the default config.toml (the repository's config.toml holds the same). */
export { defaultConfigToml as DEFAULT_CONFIG_TOML } from "./default_config.ts";
