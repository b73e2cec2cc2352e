#!/usr/bin/env bash
# Installs what the test suite needs besides npm packages, when it is missing: ffmpeg/ffprobe (the independent
# judges of recorded media) and Chromium (the real DASH player test). Debian/Ubuntu; needs root or sudo.
set -euo pipefail
missing=()
command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} with apt-get" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
