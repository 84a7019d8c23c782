# syntax=docker/dockerfile:1.7
# The image agents' commands run in on Cloud Run: one job execution per command (terraform/modules/sandbox).
#   docker build -f docker/sandbox.Dockerfile -t …/sandbox .
# Its entrypoint is the job runner (agentworks_sandbox.job): it fetches the working copy from the bucket, runs the
# command given as the container's args with the limits it is given, and writes back the result and the changes.

FROM python:3.11.14-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/agentworks/.venv
WORKDIR /opt/agentworks

# Dependencies first (the workspace needs every member's metadata), then the two libraries the runner uses.
COPY pyproject.toml uv.lock ./
COPY libs/blobs/pyproject.toml libs/blobs/
COPY libs/documents/pyproject.toml libs/documents/
COPY libs/events/pyproject.toml libs/events/
COPY libs/internal-api/pyproject.toml libs/internal-api/
COPY libs/platform/pyproject.toml libs/platform/
COPY libs/pubsub/pyproject.toml libs/pubsub/
COPY libs/repos/pyproject.toml libs/repos/
COPY libs/sandbox/pyproject.toml libs/sandbox/
COPY libs/secrets/pyproject.toml libs/secrets/
COPY infra/localstack/pyproject.toml infra/localstack/
COPY services/billing/pyproject.toml services/billing/
COPY services/core/pyproject.toml services/core/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/log-stream/pyproject.toml services/log-stream/
COPY services/orchestrator/pyproject.toml services/orchestrator/
COPY services/provider-router/pyproject.toml services/provider-router/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package agentworks-sandbox
COPY libs/blobs/ libs/blobs/
COPY libs/sandbox/ libs/sandbox/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package agentworks-sandbox

FROM python:3.11.14-slim-bookworm AS sandbox
# What projects' tests and builds commonly need: git, a C toolchain, make; Python is the base image's.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/agentworks/.venv /opt/agentworks/.venv
# The working copy is unpacked here, owned by the unprivileged user the runner and the command run as.
RUN mkdir /workspace && chown 65534:65534 /workspace
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AW_SANDBOX_JOB_CONTAINER=1
WORKDIR /workspace
USER 65534:65534
# A job, not a server: nothing listens, so there is nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["/opt/agentworks/.venv/bin/python", "-m", "agentworks_sandbox.job"]
