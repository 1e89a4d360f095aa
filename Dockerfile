# deployguard container image.
#
#   docker build -t deployguard .
#   docker run -d --name deployguard -p 127.0.0.1:8080:8080 \
#     -v /srv/deployguard/etc:/etc/deployguard:ro -v deployguard-state:/var/lib/deployguard \
#     deployguard
#
# The configuration must listen on all interfaces inside the container (server.listen:
# "0.0.0.0:8080"); publish the port on the host's loopback or a private network only and put
# /webhooks/github behind a reverse proxy (docs/operations.md). Secrets: mount them (e.g. Docker
# or Kubernetes secrets under /run/secrets) and name them relative in the config
# (token_file: github-token); $CREDENTIALS_DIRECTORY points there.
#
# The build stage runs the same steps as scripts/test.sh: scripts/setup.sh, then cmake configure
# and build (Release, without tests; without -Werror, which is the test gate and trips a GCC 12
# -O3 false positive).

# ---- build ------------------------------------------------------------------------------------
FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDEPLOYGUARD_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && DESTDIR=/out cmake --install build --prefix /usr/local --strip \
 && /out/usr/local/bin/deployguard version

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# Exactly the shared libraries `ldd deployguard` lists (libsystemd0 and libstdc++6 are already
# in the base image), the tz database for freeze windows, CA certificates for GitHub/ARM/Entra
# ID, curl for HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-url1.81.0 libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 \
      libprometheus-cpp-core1.0 libsimdjson14 libdate-tz3 libsystemd0 tzdata ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 deployguard \
 && useradd --system --uid 10001 --gid deployguard --home-dir /var/lib/deployguard \
      --no-create-home --shell /usr/sbin/nologin deployguard \
 && install -d -o deployguard -g deployguard -m 0700 /var/lib/deployguard \
 && install -d -m 0755 /etc/deployguard
COPY --from=build /out/usr/local/bin/deployguard /usr/local/bin/deployguard
COPY config/deployguard.example.yaml /usr/local/share/doc/deployguard/deployguard.example.yaml
RUN deployguard version

ENV CREDENTIALS_DIRECTORY=/run/secrets
USER deployguard:deployguard
WORKDIR /var/lib/deployguard
VOLUME ["/etc/deployguard", "/var/lib/deployguard"]
EXPOSE 8080
# /healthz answers 200 while the daemon serves (it does not wait for upstream data: that is
# /readyz, which a load balancer or Kubernetes readiness probe should use instead).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD curl -fsS --max-time 4 -o /dev/null http://127.0.0.1:8080/healthz || exit 1
# SIGTERM: graceful shutdown (answers long-poll waiters, writes the state file).
STOPSIGNAL SIGTERM
ENTRYPOINT ["deployguard"]
CMD ["serve", "--config", "/etc/deployguard/deployguard.yaml"]
