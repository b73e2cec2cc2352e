#!/usr/bin/env bash
# Run by `npm install` (postinstall): puts the Bun runtime of each cross-compile target that npm itself does not
# install (it refuses packages for another CPU) into node_modules/.bun-targets/, so that `deno task compile` needs
# no network. The version is the one of the installed `bun` package. Today: linux-arm64.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./node_modules/bun/package.json").version')
for target in linux-aarch64; do
  dir="node_modules/.bun-targets/bun-$target-$version"
  [ -x "$dir/bin/bun" ] && continue
  tmp=$(mktemp -d)
  # npm checks the tarball against the registry's integrity hash.
  npm pack --silent --pack-destination "$tmp" "@oven/bun-$target@$version" >/dev/null
  mkdir -p "$dir"
  tar -xzf "$tmp"/*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  chmod +x "$dir/bin/bun"
done
