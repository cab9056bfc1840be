# The zt-ffmpeg image, built from this source tree (the Kubernetes examples run it):
#   podman build -t zt-ffmpeg:0.1.0 .        (or docker build; then push it to your registry)
# Debian-based Node 20: Debian's own nodejs (20 in trixie), ffmpeg and bubblewrap, installed by
# the project's setup (./setup.sh --system-only); zt-ffmpeg from the tarball `npm pack` makes
# in the build stage; a non-root user with a home; the state (audit log) and config (audit
# key) directories as volumes. BASE may name any Debian image with apt; Node is installed from
# Debian when the base has none.
ARG BASE=debian:trixie-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# Only for builds behind a TLS-intercepting proxy: a CA file (bind-mounted) npm should trust.
ARG NODE_EXTRA_CA_CERTS
RUN command -v node >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/*; }
WORKDIR /src
COPY . .
# npm pack runs prepack, which builds dist/ from the sources.
RUN npm ci --no-audit --no-fund --loglevel=error \
 && npm pack --pack-destination /tmp \
 && mv /tmp/zt-ffmpeg-*.tgz /tmp/zt-ffmpeg.tgz

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
ARG NODE_EXTRA_CA_CERTS
COPY setup.sh /usr/local/share/zt-ffmpeg/setup.sh
COPY --from=build /tmp/zt-ffmpeg.tgz /tmp/zt-ffmpeg.tgz
RUN { command -v node >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates; }; } \
 && /usr/local/share/zt-ffmpeg/setup.sh --system-only \
 && npm install --global --no-audit --no-fund --loglevel=error /tmp/zt-ffmpeg.tgz \
 && npm cache clean --force \
 && rm -rf /tmp/zt-ffmpeg.tgz /var/lib/apt/lists/* \
 && groupadd --gid 10001 zt-ffmpeg \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/zt-ffmpeg --create-home --shell /usr/sbin/nologin zt-ffmpeg \
 && install -d -o 10001 -g 10001 -m 700 /var/lib/zt-ffmpeg/state /var/lib/zt-ffmpeg/config
ENV HOME=/var/lib/zt-ffmpeg \
    XDG_STATE_HOME=/var/lib/zt-ffmpeg/state \
    XDG_CONFIG_HOME=/var/lib/zt-ffmpeg/config \
    NO_COLOR=1
VOLUME ["/var/lib/zt-ffmpeg/state", "/var/lib/zt-ffmpeg/config"]
USER 10001:10001
WORKDIR /var/lib/zt-ffmpeg
ENTRYPOINT ["zt-ffmpeg"]
CMD ["--help"]
