# flightdeck - multi-stage image on Debian 12.
#
#   docker build -t flightdeck .
#   docker run -d --name flightdeck -p 8080:8080 -v flightdeck-data:/data \
#     -e FLIGHTDECK_JWT_SECRET="$(openssl rand -hex 32)" flightdeck
#
# The package lists below are the Makefile's DEB_BUILD and DEB_RUNTIME, word for word:
# tests/dockerfile_packages.sh (run by .ci/run) fails when they drift apart.

# ---- build: compile the one binary ----
FROM debian:12-slim AS build
ARG DEB_BUILD="build-essential pkg-config libssl-dev libh2o-evloop-dev libsqlite3-dev libjansson-dev libjwt-dev libcmocka-dev libcurl4-openssl-dev ca-certificates"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $DEB_BUILD \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not in the build context, so the version is passed in (default "dev").
ARG VERSION=dev
RUN make flightdeck VERSION="$VERSION"

# ---- runtime: the binary, the web UI, the example plans; no compiler ----
FROM debian:12-slim
ARG DEB_RUNTIME="libh2o-evloop0.13 libjansson4 libjwt0 libsqlite3-0 libcurl4 ca-certificates"
# curl is for the HEALTHCHECK only.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $DEB_RUNTIME curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system flightdeck \
 && useradd --system --gid flightdeck --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin flightdeck \
 && mkdir -p /data \
 && chown flightdeck:flightdeck /data
# build/flightdeck is the real file (./flightdeck is only a symlink to it).
COPY --from=build /src/build/flightdeck /usr/local/bin/flightdeck
COPY web/ /usr/share/flightdeck/web/
COPY examples/ /usr/share/flightdeck/examples/
ENV FLIGHTDECK_DB=/data/flightdeck.db \
    FLIGHTDECK_LISTEN=0.0.0.0:8080 \
    FLIGHTDECK_WEB=/usr/share/flightdeck/web
VOLUME /data
EXPOSE 8080
USER flightdeck
WORKDIR /data
# The port is taken from FLIGHTDECK_LISTEN, so the check follows a changed listen address.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${FLIGHTDECK_LISTEN##*:}/healthz" >/dev/null || exit 1
ENTRYPOINT ["flightdeck"]
CMD ["serve"]
