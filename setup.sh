#!/usr/bin/env bash
# zt-ffmpeg setup: installs what a fresh Debian/Ubuntu machine lacks (ffmpeg, bubblewrap,
# util-linux's prlimit, and the media writers the real-world corpus test uses), installs the npm dependencies, builds, and runs one real sandboxed job
# on a sample it generates, under the bundled default policy. Idempotent: run it again any time.
#   ./setup.sh            set up and run the demo job
#   ./setup.sh --no-demo  set up only (used by CI)
#   ./setup.sh --system-only  only the Debian packages (the container image, the GitHub Action)
set -euo pipefail
cd "$(dirname "$0")"

demo=1
system_only=0
[ "${1:-}" = "--no-demo" ] && demo=0
[ "${1:-}" = "--system-only" ] && system_only=1

say() { printf '\n== %s\n' "$*" >&2; }

missing=()
command -v ffmpeg  >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v bwrap   >/dev/null 2>&1 || missing+=(bubblewrap)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
command -v flock   >/dev/null 2>&1 || missing+=(util-linux)
# The third-party writers the real-world corpus test (npm run test:realworld) makes its samples
# with: each command, and the Debian package that brings it. Only the missing ones are installed.
writers=(
  gst-launch-1.0:gstreamer1.0-tools
  /usr/lib/*/gstreamer-1.0/libgstisomp4.so:gstreamer1.0-plugins-good
  /usr/lib/*/gstreamer-1.0/libgstx264.so:gstreamer1.0-plugins-ugly
  /usr/lib/*/gstreamer-1.0/libgstx265.so:gstreamer1.0-plugins-bad
  /usr/lib/*/gstreamer-1.0/libgstogg.so:gstreamer1.0-plugins-base
  mkvmerge:mkvtoolnix lame:lame sox:sox flac:flac opusenc:opus-tools oggenc:vorbis-tools
  exiftool:libimage-exiftool-perl AtomicParsley:atomicparsley convert:imagemagick cwebp:webp
  mplex:mjpegtools /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core
)
for w in "${writers[@]}"; do
  what=${w%%:*}
  case "$what" in
    /*) compgen -G "$what" >/dev/null || missing+=("${w#*:}") ;;
    *) [ -x "/usr/bin/$what" ] || missing+=("${w#*:}") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  say "installing system packages: $pkgs"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get not found; install these yourself: $pkgs" >&2
    exit 7
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  started=$(date +%s)
  $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  echo "installed in $(( $(date +%s) - started )) s" >&2
fi

# As root, the sandbox never runs as root: it runs as this dedicated system user (no login, no
# home), so bubblewrap's user namespace maps to an unprivileged host uid. A policy may name
# another user in sandbox.user. Created once; re-runs leave it as it is.
sandbox_user=zt-ffmpeg
if [ "$(id -u)" -eq 0 ] && ! getent passwd "$sandbox_user" >/dev/null 2>&1; then
  say "creating the sandbox user $sandbox_user"
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$sandbox_user"
  else
    adduser --system --no-create-home --home /nonexistent --shell /usr/sbin/nologin --group "$sandbox_user"
  fi
fi

[ "$system_only" -eq 1 ] && exit 0

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version))" >&2
  exit 7
fi

say "installing npm dependencies"
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "node_modules is up to date" >&2
else
  npm ci --no-audit --no-fund --loglevel=error
fi

say "building"
npm run --silent build

if [ "$demo" -eq 1 ]; then
  say "demo: a real sandboxed job on a generated sample, under the bundled advanced policy"
  demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/zt-ffmpeg-demo.XXXXXX")
  export XDG_STATE_HOME="$demo_dir/state" XDG_CONFIG_HOME="$demo_dir/config"
  timeout 60 ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25:duration=2 \
    -f lavfi -i sine=frequency=440:duration=2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$demo_dir/sample.mov"
  set -x
  ./bin/zt-ffmpeg run -i "$demo_dir/sample.mov" -o "$demo_dir/out.mp4"
  ./bin/zt-ffmpeg audit show --audit-log "$XDG_STATE_HOME/zt-ffmpeg/audit.log" --last 2
  ./bin/zt-ffmpeg audit verify "$XDG_STATE_HOME/zt-ffmpeg/audit.log" --key "$XDG_CONFIG_HOME/zt-ffmpeg/audit.pub"
  { set +x; } 2>/dev/null
  say "done: output $demo_dir/out.mp4; audit log $XDG_STATE_HOME/zt-ffmpeg/audit.log"
  echo "next: npm test" >&2
fi
