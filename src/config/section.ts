/**
 * Typed, path-aware reading of one parsed TOML table: every getter checks the value's type and throws a
 * ConfigError naming the dotted key and the value it got. It knows nothing about liverec's schema.
 */

import { ConfigError } from "../shared/errors.ts";

/** A parsed TOML table (smol-toml gives null-prototype objects). */
export type TomlTable = { readonly [key: string]: unknown };

const MAX_SHOWN_LENGTH = 80;

/** How a value appears in an error message; `secret` values never show their content. */
export function describe(value: unknown, secret = false): string {
  if (typeof value === "string") {
    if (secret) return `a string of ${value.length} characters`;
    const json = JSON.stringify(value);
    return json.length > MAX_SHOWN_LENGTH ? `${json.slice(0, MAX_SHOWN_LENGTH)}…" (${value.length} characters)` : json;
  }
  if (typeof value === "number") return Number.isNaN(value) ? "nan" : String(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "bigint") return String(value);
  if (value instanceof Date) return `a date-time (${value.toISOString()})`;
  if (Array.isArray(value)) {
    if (secret) return `an array of ${value.length} values`;
    const shown = `[${value.map((item) => describe(item)).join(", ")}]`;
    return shown.length > MAX_SHOWN_LENGTH ? `an array of ${value.length} values` : shown;
  }
  if (isTable(value)) return "a table";
  return String(value);
}

/** Whether `value` is a TOML table (not an array, not a date). */
export function isTable(value: unknown): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** One table of the config file, addressed by its dotted path ("" for the root). */
export class Section {
  constructor(readonly path: string, private readonly table: TomlTable) {}

  /** The dotted path of `key` inside this table. */
  keyPath(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  /** The keys present in this table, in file order. */
  keys(): string[] {
    return Object.keys(this.table);
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return Object.hasOwn(this.table, key);
  }

  /** A ConfigError about `key` in this table. */
  error(key: string, message: string): ConfigError {
    return new ConfigError(this.keyPath(key), message);
  }

  /**
   * Throws on the first key not in `allowed`; `elsewhere(key)` may explain why a known-but-misplaced key is
   * refused here (e.g. a key that belongs to another storage type).
   */
  rejectUnknownKeys(allowed: readonly string[], elsewhere?: (key: string) => string | undefined): void {
    for (const key of this.keys()) {
      if (allowed.includes(key)) continue;
      const list = [...allowed].sort().join(", ");
      const reason = elsewhere?.(key);
      throw this.error(key, `${reason ?? "is an unknown key"} (allowed: ${list})`);
    }
  }

  /** The sub-table at `key`, or an empty one when absent. */
  section(key: string): Section {
    const value = this.table[key];
    if (!this.has(key)) return new Section(this.keyPath(key), Object.create(null));
    if (!isTable(value)) throw this.error(key, `must be a table, got ${describe(value)}`);
    return new Section(this.keyPath(key), value);
  }

  /** The value at `key` whatever its type, or undefined when absent; the caller checks it. */
  value(key: string): unknown {
    return this.has(key) ? this.table[key] : undefined;
  }

  /** The string at `key`, or undefined when absent. */
  string(key: string, secret = false): string | undefined {
    if (!this.has(key)) return undefined;
    const value = this.table[key];
    if (typeof value !== "string") throw this.error(key, `must be a string, got ${describe(value, secret)}`);
    return value;
  }

  /** The boolean at `key`, or undefined when absent. */
  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const value = this.table[key];
    if (typeof value !== "boolean") throw this.error(key, `must be true or false, got ${describe(value)}`);
    return value;
  }

  /** The number (integer or float, possibly inf or nan) at `key`, or undefined when absent. */
  number(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.table[key];
    if (typeof value !== "number") throw this.error(key, `must be a number, got ${describe(value)}`);
    return value;
  }

  /** The array at `key`, or undefined when absent; items are checked by the caller. */
  array(key: string, secret = false): readonly unknown[] | undefined {
    if (!this.has(key)) return undefined;
    const value = this.table[key];
    if (!Array.isArray(value)) throw this.error(key, `must be an array, got ${describe(value, secret)}`);
    return value;
  }

  /** The array of strings at `key` (each item checked), or undefined when absent. */
  stringArray(key: string, secret = false): string[] | undefined {
    const items = this.array(key, secret);
    if (items === undefined) return undefined;
    return items.map((item, i) => {
      if (typeof item !== "string") {
        throw this.error(`${key}[${i}]`, `must be a string, got ${describe(item, secret)}`);
      }
      return item;
    });
  }
}
