/** Storage: the ObjectStore port and its adapters (OpenDAL for real backends, memory for unit tests). */

export type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
export { checkedKey, checkedPrefix } from "./keys.ts";
export { MemoryStore } from "./memory_store.ts";
export { OpenDalStore, type OpenDalTarget } from "./opendal_store.ts";
