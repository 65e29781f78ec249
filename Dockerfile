# syntax=docker/dockerfile:1
# Multi-stage build of the release binary; the runtime image holds only the binary and CA certificates.
# The simulator is left out unless asked for: docker build --build-arg FEATURES=simulator .

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
ARG FEATURES=""
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --no-default-features --features "${FEATURES}" || true
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --no-default-features --features "${FEATURES}" \
    && cp target/release/partner-center-gateway /partner-center-gateway

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=builder /partner-center-gateway /usr/local/bin/partner-center-gateway
USER 10001:10001
ENV GATEWAY_ENVIRONMENT=production \
    GATEWAY_REST__LISTEN=0.0.0.0:8080 \
    GATEWAY_GRPC__LISTEN=0.0.0.0:50051
EXPOSE 8080 50051
# No HEALTHCHECK: Kubernetes probes /readyz, /livez and gRPC health.
ENTRYPOINT ["/usr/local/bin/partner-center-gateway"]
CMD ["serve"]
