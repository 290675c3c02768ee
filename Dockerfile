# syntax=docker/dockerfile:1
# One image for every AsyncTaskFlow service; the command picks the service:
#   python -m services.scheduler | services.executor | services.monitor | services.gateway
# (or `taskflow <name>`). docker-compose.yml and deploy/kubernetes/ run it that way.
#
#   docker build -t asynctaskflow:0.1.0 .
#
# Stages: `dashboard` builds frontend/dist with Node; `builder` installs the locked
# Python dependencies with uv and generates the gRPC stubs from proto/; `runtime`
# gets only the virtualenv, the application code and the built dashboard: no uv,
# no compilers, no Node, no dev dependencies, and it runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- the dashboard ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
# `npm install`, as `make frontend` does: it installs exactly the locked versions,
# while `npm ci` rejects this lock (see the Makefile).
RUN npm install --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- Python dependencies and generated stubs -------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (with the dev group: protoc and mypy-protobuf generate the
# stubs), in a layer of their own that only a lock change rebuilds.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project
COPY proto/ proto/
COPY scripts/ scripts/
COPY taskflow/ taskflow/
COPY services/ services/
RUN .venv/bin/python scripts/gen_protos.py
# Now drop the dev group and install the project itself (editable: it points at
# /app, where the runtime stage puts the code too).
RUN uv sync --frozen --no-dev

# --- the image that runs ---------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid ${UID} taskflow \
    && useradd --system --uid ${UID} --gid taskflow --no-create-home --home-dir /app taskflow
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TASKFLOW_GATEWAY_HOST=0.0.0.0 \
    TASKFLOW_DATA_DIR=/tmp/taskflow
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/taskflow /app/taskflow
COPY --from=builder /app/services /app/services
COPY --from=builder /app/pyproject.toml /app/pyproject.toml
COPY --from=dashboard /src/frontend/dist /app/frontend/dist
USER taskflow:taskflow
# gRPC: scheduler 50051, executor 50052, monitor 50053; REST + dashboard: 8000.
EXPOSE 50051 50052 50053 8000
CMD ["python", "-m", "services.gateway"]
