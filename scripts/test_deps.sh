#!/usr/bin/env bash
# Installs what the test suite needs besides npm packages, when it is missing: ffmpeg/ffprobe (the independent
# judges of recorded media), Chromium (the players, and a publisher), Firefox ESR, GStreamer and OBS Studio
# (publishers), Prometheus (scrapes /metrics), qemu-user with an arm64 C library (runs the arm64 binary), libsrtp2, and
# FFmpeg 8 from PyPI (publishes).
# Debian/Ubuntu on x86_64; needs root or sudo.
set -euo pipefail
# The Debian packages, each with a file it puts in place: ffmpeg/ffprobe judge recordings; Chromium plays them and
# publishes; Firefox ESR publishes (driven by puppeteer-core over WebDriver BiDi); GStreamer's webrtcbin (with x264,
# x265, libvpx and Opus, driven from python3-gst) publishes, and gst-launch-1.0 runs its RTMP publishers; OBS Studio
# publishes over RTMP on an Xvfb display; Prometheus and its promtool read /metrics; VLC plays signed playback URLs;
# libsrtp2 decrypts WebRTC media in the service (which falls back to its own SRTP without it).
packages=(
  ffmpeg:/usr/bin/ffprobe
  chromium:/usr/bin/chromium
  firefox-esr:/usr/bin/firefox-esr
  gstreamer1.0-tools:/usr/bin/gst-launch-1.0
  gstreamer1.0-plugins-base:/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstopus.so
  gstreamer1.0-plugins-good:/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstvpx.so
  gstreamer1.0-plugins-bad:/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstwebrtc.so
  gstreamer1.0-plugins-ugly:/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstx264.so
  gstreamer1.0-nice:/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstnice.so
  python3-gst-1.0:/usr/lib/python3/dist-packages/gi/overrides/Gst.py
  gir1.2-gst-plugins-bad-1.0:/usr/lib/x86_64-linux-gnu/girepository-1.0/GstWebRTC-1.0.typelib
  obs-studio:/usr/bin/obs
  xvfb:/usr/bin/Xvfb
  prometheus:/usr/bin/promtool
  vlc-bin:/usr/bin/cvlc
  vlc-plugin-base:/usr/lib/x86_64-linux-gnu/vlc/plugins/demux/libadaptive_plugin.so
  qemu-user:/usr/bin/qemu-aarch64
  libc6-arm64-cross:/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1
  libsrtp2-1:/usr/lib/x86_64-linux-gnu/libsrtp2.so.1
)
missing=()
for entry in "${packages[@]}"; do
  [ -e "${entry#*:}" ] || missing+=("${entry%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]} with apt-get" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# FFmpeg 8 (its whip muxer, and its FLV muxer's Enhanced RTMP) publishes in tests/ffmpeg8_e2e_test.ts. Debian has
# FFmpeg 5.1; FFmpeg 8 comes inside PyAV's wheel, from PyPI. Where it cannot be installed, that test says so and skips.
pyav="$(dirname "$0")/../node_modules/.cache/pyav"
if ! "$pyav/bin/python" -c "import av" 2>/dev/null; then
  rm -rf "$pyav"
  if ! { python3 -m venv "$pyav" && "$pyav/bin/pip" install -q --retries 1 "av==18.1.0"; }; then
    echo "PyAV (FFmpeg 8) could not be installed: tests/ffmpeg8_e2e_test.ts will skip" >&2
  fi
fi
