#!/usr/bin/env bash
# Regenerates tests/fixtures/clip.mp4, the bundled test clip that the test publisher sends: 4 s of 1280x720 30 fps
# H.264 constrained baseline encoded for 2.5 Mbit/s (the bundled clip's video averages 2.7 Mbit/s), one keyframe a
# second and no B-frames, as WebRTC encoders send it, and 48 kHz stereo Opus in 20 ms packets. Each second opens with
# a white video frame and a 1 kHz beep so that tests can measure audio/video alignment in what liverec records. Needs
# ffmpeg with libx264 and libopus.
set -euo pipefail
out="${1:-tests/fixtures/clip.mp4}"
ffmpeg -v error -y \
  -f lavfi -i "testsrc2=size=1280x720:rate=30,drawbox=c=white:t=fill:enable='lt(mod(t\,1)\,0.02)'" \
  -f lavfi -i "sine=frequency=1000:sample_rate=48000,volume=enable='gte(mod(t\,1)\,0.1)':volume=0" \
  -t 4 -map 0:v -map 1:a \
  -c:v libx264 -profile:v baseline -level 3.1 -pix_fmt yuv420p -preset veryfast -tune zerolatency \
  -b:v 2500k -maxrate 2500k -bufsize 2500k -g 30 -keyint_min 30 -sc_threshold 0 -bf 0 \
  -c:a libopus -b:a 64k -frame_duration 20 -ac 2 \
  -movflags +faststart "$out"
