/**
 * `deno task compile [--out DIR]`: builds liverec as single binaries with Bun, offline (Bun and each target's
 * runtime come from `npm install`): `DIR/liverec-linux-x64` and `DIR/liverec-linux-arm64` (default DIR: dist).
 * Only what main.ts imports goes in. OpenDAL's native addon goes into the binary for the build machine's own platform
 * (its package for the other one is not installed), so a cross-compiled binary records to fs storage only.
 * A binary reads neither `.env` nor `bunfig.toml` from its working folder.
 */

import { join, resolve } from "node:path";
import process from "node:process";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const BUN = join(ROOT, "node_modules/.bin/bun");

/** Each binary: its name, Bun's target, and the Bun runtime to embed when it is not the build machine's own. */
const TARGETS = [
  { name: "liverec-linux-x64", bunTarget: "bun-linux-x64", arch: "x64", targetFolder: "bun-linux-x64" },
  { name: "liverec-linux-arm64", bunTarget: "bun-linux-arm64", arch: "arm64", targetFolder: "bun-linux-aarch64" },
];

async function bunVersion(): Promise<string> {
  const text = await Deno.readTextFile(join(ROOT, "node_modules/bun/package.json"));
  return (JSON.parse(text) as { version: string }).version;
}

async function main(args: string[]): Promise<void> {
  const at = args.indexOf("--out");
  const out = resolve(at >= 0 ? args[at + 1] ?? "" : join(ROOT, "dist"));
  const version = await bunVersion();
  for (const target of TARGETS) {
    const output = join(out, target.name);
    const runtime = target.arch === process.arch ? [] : [
      `--compile-executable-path=${
        join(ROOT, "node_modules/.bun-targets", `${target.targetFolder}-${version}`)
      }/bin/bun`,
    ];
    const build = await new Deno.Command(BUN, {
      args: [
        "build",
        "--compile",
        `--target=${target.bunTarget}`,
        ...runtime,
        "--no-compile-autoload-dotenv",
        "--no-compile-autoload-bunfig",
        join(ROOT, "main.ts"),
        "--outfile",
        output,
      ],
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!build.success) throw new Error(`bun build for ${target.bunTarget} failed (exit ${build.code})`);
    const sizeMb = (await Deno.stat(output)).size / 1e6;
    console.log(`${output}: ${sizeMb.toFixed(0)} MB`);
  }
}

await main(Deno.args);
