# syntax=docker/dockerfile:1
#
# Release image of partner-center-gateway: a multi-stage build of the release binary and a small
# runtime image holding only that binary, glibc/libgcc and the CA certificates (distroless "cc").
#
#   docker build -t partner-center-gateway .                              # production: no simulator
#   docker build --build-arg FEATURES="otlp simulator" -t pcg-demo .     # demo image with the simulator
#   docker run --read-only -p 8080:8080 -p 50051:50051 -e GATEWAY_ENVIRONMENT=development pcg-demo
#
# The base images are build arguments so a registry mirror or a digest pin can be given without
# editing this file, e.g. --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:...
# Builder and runtime must share the Debian release (bookworm = debian12), so glibc matches.

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
# Cargo features on top of --no-default-features: "otlp" (production; trace export is still off
# until tracing.otlp_endpoint is set), "" (no OpenTelemetry code at all) or "otlp simulator".
ARG FEATURES="otlp"
WORKDIR /src
ENV CARGO_TERM_COLOR=never

# 1. Dependencies only, in their own layer: it is rebuilt when Cargo.toml or Cargo.lock change,
#    not when src/, build.rs or proto/ do. The crate itself is replaced by stubs (an empty build
#    script too, so proto/ is not needed yet; the build-dependencies protox and tonic-prost-build
#    are still compiled because the build script links them). Afterwards the stubs and every
#    artifact and fingerprint of the crate itself are removed, so step 2 always rebuilds the crate
#    and reruns build.rs, whatever the file timestamps in the build context are. The simulator
#    crate is a workspace member: its manifest (and a stub) must be present even when the
#    `simulator` feature is off, since Cargo loads every member.
COPY Cargo.toml Cargo.lock ./
COPY simulator/Cargo.toml ./simulator/Cargo.toml
RUN mkdir -p src simulator/src \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && : > simulator/src/lib.rs \
    && echo 'fn main() {}' > build.rs \
    && cargo build --release --locked --no-default-features --features "${FEATURES}" --bin partner-center-gateway \
    && rm -rf src build.rs simulator/src \
        target/release/.fingerprint/partner-center-gateway-* \
        target/release/build/partner-center-gateway-* \
        target/release/deps/partner_center_gateway-* \
        target/release/deps/libpartner_center_gateway-* \
        target/release/.fingerprint/partner-center-simulator-* \
        target/release/deps/libpartner_center_simulator-* \
        target/release/partner-center-gateway \
        target/release/partner-center-gateway.d

# 2. The crate: build script (compiles proto/ with protox; no protoc needed), library and binary.
COPY build.rs ./
COPY proto ./proto
COPY src ./src
COPY simulator ./simulator
# Declared here, not above, so changing it does not invalidate the dependency layer.
# The release profile keeps line tables for backtraces (~100 MB binary); "true" strips them
# (~27 MB; panics still name functions), "false" keeps them.
ARG STRIP_DEBUG=true
RUN cargo build --release --locked --no-default-features --features "${FEATURES}" --bin partner-center-gateway \
    && mkdir -p /out \
    && cp target/release/partner-center-gateway /out/partner-center-gateway \
    && if [ "${STRIP_DEBUG}" = "true" ]; then strip --strip-debug /out/partner-center-gateway; fi

FROM ${RUNTIME_IMAGE} AS runtime
LABEL org.opencontainers.image.title="partner-center-gateway" \
      org.opencontainers.image.description="REST and gRPC gateway in front of the Microsoft Partner Center API" \
      org.opencontainers.image.licenses="MIT"
# Root-owned and not writable by the process; nothing else in the image is needed at run time, so
# the root filesystem can be mounted read-only (the Helm chart does, with an emptyDir on /tmp).
COPY --from=builder --chown=0:0 --chmod=0755 /out/partner-center-gateway /usr/local/bin/partner-center-gateway
# Numeric, so Kubernetes' runAsNonRoot can verify it without a passwd entry.
USER 10001:10001
# Listen on all interfaces in a container; a config file (GATEWAY_CONFIG), GATEWAY_* variables
# or --set flags still override these.
ENV GATEWAY_ENVIRONMENT=production \
    GATEWAY_REST__LISTEN=0.0.0.0:8080 \
    GATEWAY_GRPC__LISTEN=0.0.0.0:50051
# 8080: REST, /livez, /readyz, /metrics. 50051: gRPC with grpc.health.v1 and reflection.
EXPOSE 8080 50051
# No HEALTHCHECK: Kubernetes probes /livez, /readyz and gRPC health (see helm/).
# SIGTERM (the default stop signal) starts the graceful shutdown (rest.shutdown_grace).
ENTRYPOINT ["/usr/local/bin/partner-center-gateway"]
CMD ["serve"]
