# tessera container image.
#
#   docker build -t tessera .
#   docker run -p 8080:8080 -p 127.0.0.1:8081:8081 -v tessera-data:/var/lib/tessera/data tessera
#
# Port 8080 is the public listener (apps and services); 8081 is the intranet listener
# (the /api/v1 administration API, statistics, introspection, revocation): publish it only
# where administrators reach it.
# The built-in config sets server.external_url_base (the token issuer) to
# http://127.0.0.1:8080; mount your own file over /etc/tessera/tessera.toml to change it.
# tessera re-reads that file when it changes, on SIGHUP (docker kill -s HUP) and on
# POST /api/v1/admin/reload; bind addresses, TLS, the data dir and the password-hashing
# settings need a restart.
# Keep /var/lib/tessera/data on a volume: it holds the store — users, sessions, applications,
# keys, OAuth clients, the JWT signing keys (sealed under the master key) and the generated
# preamble token_uuid.
#
# The master key: without TESSERA_MASTER_KEY, the first start creates
# /var/lib/tessera/data/master.key (mode 0600) on the data volume, next to the keys it
# protects. In production give it from outside instead, and keep a copy apart from your
# backups — it is not in them, and without it the data dir does not start:
#   docker run … --env-file /secure/tessera.env tessera     # TESSERA_MASTER_KEY=<base64>
# (base64 of 32 bytes, e.g. from `openssl rand -base64 32`; an orchestrator secret exposed as
# that environment variable works the same), or mount a key file read-only at that path:
#   docker run … -v /secure/tessera-master.key:/var/lib/tessera/data/master.key:ro tessera
# (owned by uid 10001, mode 0600; a wider mode works but logs a warning). CRYPT: values in the
# config need the same key: `docker run -i --rm --env-file /secure/tessera.env tessera encrypt -`.
#
# TLS: mount the certificate and key (e.g. under /etc/tessera/tls/), point tls.cert and
# tls.key at them in your config, set tls.enable_ssl = true and an https
# server.external_url_base; see "Running in production" in README.md.

# ---- build ----
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts (BuildKit, the default builder since Docker 23) keep the crate registry and
# compiled dependencies between builds; the binary is copied out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && install -D -m 0755 target/release/tessera /out/tessera

# ---- run ----
FROM debian:bookworm-slim
# ca-certificates is left unpinned on purpose: it should follow Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so volume ownership stays stable across image rebuilds. The data dir is
# created here, owned by tessera with mode 0700, so a fresh named volume inherits both.
RUN groupadd --system --gid 10001 tessera \
 && useradd --system --uid 10001 --gid tessera --home-dir /var/lib/tessera \
        --shell /usr/sbin/nologin tessera \
 && install -d -o tessera -g tessera -m 0700 /var/lib/tessera /var/lib/tessera/data
COPY --from=builder /out/tessera /usr/local/bin/tessera
COPY config/tessera.toml /etc/tessera/tessera.toml
WORKDIR /var/lib/tessera
ENV TESSERA_CONFIG=/etc/tessera/tessera.toml \
    TESSERA_DATA_DIR=/var/lib/tessera/data \
    TESSERA_BIND=0.0.0.0:8080 \
    TESSERA_ADMIN_BIND=0.0.0.0:8081
# The tessera user, by number so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8080 8081
# No HEALTHCHECK: the slim image has no curl or wget to run one. GET /health (on either
# listener) is the node check: 200 {"status":"ok"} while the store answers, 503 otherwise;
# point the orchestrator's HTTP probe or the load balancer at it.
ENTRYPOINT ["tessera"]
CMD ["serve"]
