#!/usr/bin/env bash
# Build the container image from this source tree with podman and run a real sandboxed job in
# it, under the Kubernetes examples' seccomp profile. Not part of `npm test` (it needs Debian's
# mirrors and the npm registry, and minutes). Needs podman, runc, mmdebstrap (Debian packages).
# With no Docker Hub here, the base is made by mmdebstrap from Debian's own packages; elsewhere
# pass BASE=debian:trixie-slim (the Dockerfile's default).
#   scripts/image-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=${TMPDIR:-/tmp}/zt-ffmpeg-image
mkdir -p "$work/data"
base=${BASE:-localhost/debian:trixie-mmdebstrap}
# This machine cannot raise rlimits (no CAP_SYS_RESOURCE) and its crun rejects hybrid cgroups:
# runc, and limits below the hard ones.
run_opts=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
if [ "$base" = localhost/debian:trixie-mmdebstrap ] && ! podman image exists "$base"; then
  mmdebstrap --variant=minbase --format=tar trixie "$work/trixie.tar" http://deb.debian.org/debian
  podman import "$work/trixie.tar" "$base"
fi
ca=()
# Behind a TLS-intercepting proxy, npm in the build must trust its CA.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then ca=(-v "$NODE_EXTRA_CA_CERTS:/etc/ssl/certs/zt-host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/zt-host-ca.crt); fi
time podman build "${run_opts[@]}" --network host "${ca[@]}" --build-arg BASE="$base" -t localhost/zt-ffmpeg:0.1.0 .
timeout 60 ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 -f lavfi -i sine=duration=2 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$work/data/in.mp4"
rm -f "$work/data/out.mp4"; chmod 777 "$work/data"
# The pod settings of examples/kubernetes/job.yaml: its seccomp profile, an unmasked /proc, no network.
time podman run --rm "${run_opts[@]}" --network none \
  --security-opt seccomp=examples/kubernetes/seccomp/zt-ffmpeg-bwrap.json --security-opt unmask=ALL \
  -v "$work/data:/data" localhost/zt-ffmpeg:0.1.0 --json run -i /data/in.mp4 -o /data/out.mp4
