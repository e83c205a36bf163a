# syntax=docker/dockerfile:1
#
# pooltasks: one static binary on distroless, non-root, happy on a read-only root file system.
#
#   DOCKER_BUILDKIT=1 docker build --build-arg VERSION=$(git describe --always --dirty) -t pooltasks:dev .
#   docker run --rm --read-only -e SLACK_APP_TOKEN -e SLACK_BOT_TOKEN \
#     -v pooltasks-state:/var/lib/pooltasks pooltasks:dev serve --sim
#
# .ci/run builds the same binary the same way (CGO_ENABLED=0, -trimpath, -ldflags -X main.version).

ARG GO_VERSION=1.27.3
# Where the binary comes from: build (compiled here, the default) or prebuilt (GoReleaser's
# binary for the target platform, in the build context as $TARGETPLATFORM/pooltasks).
ARG BINARY_FROM=build

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, in their own layer and cache, so a source change does not download them again.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/pooltasks ./cmd/pooltasks \
 && mkdir -p /out/state

FROM scratch AS prebuilt
ARG TARGETPLATFORM
WORKDIR /out/state
COPY ${TARGETPLATFORM}/pooltasks /out/pooltasks

FROM ${BINARY_FROM} AS binary

FROM gcr.io/distroless/static-debian12:nonroot
# 65532 is the nonroot user of distroless. The state directory belongs to it so that a fresh
# named volume (which Docker seeds from the image) is writable; on Kubernetes fsGroup does that.
COPY --from=binary --chown=65532:65532 /out/state /var/lib/pooltasks
COPY --from=binary /out/pooltasks /pooltasks
# The only place pooltasks writes: digest watermarks, active watches, alerted task ids.
# Nothing else is written, so the root file system can be read-only (docker run --read-only,
# readOnlyRootFilesystem: true). The Huawei SDK would write ~/.huaweicloud/application_id on
# its first call unless a User-Agent is set; the workspace client always sets one.
ENV POOLTASKS_STATE_DIR=/var/lib/pooltasks \
    POOLTASKS_HTTP_ADDR=:8080 \
    LOG_FORMAT=json
VOLUME ["/var/lib/pooltasks"]
USER nonroot:nonroot
# /healthz, /readyz and /metrics. Socket mode dials out to Slack; nothing else listens.
EXPOSE 8080
ENTRYPOINT ["/pooltasks"]
CMD ["serve"]
