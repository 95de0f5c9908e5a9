# syntax=docker/dockerfile:1
# directpost: one image for the app (`serve`), the worker (`worker`) and migrations (`migrate`).
# Build: docker build -t directpost .   Run it with compose.yaml (docs/deploy.md).

# --- build: the project and its runtime dependencies as wheels --------------------------------
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# The `scale` extra (PostgreSQL, Redis, S3): the deployed size. No test, lint or bench extras.
RUN pip wheel --wheel-dir /wheels ".[scale]"

# --- runtime: the wheels installed, nothing to build with, a user without privileges -----------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DIRECTPOST_ENVIRONMENT=production \
    DIRECTPOST_HOST=0.0.0.0 \
    DIRECTPOST_PORT=8000 \
    DIRECTPOST_DATA_DIR=/var/lib/directpost \
    DIRECTPOST_LOG_FORMAT=json
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "directpost[scale]" \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/directpost --create-home \
    --shell /usr/sbin/nologin directpost
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/directpost-entrypoint
USER directpost
WORKDIR /var/lib/directpost
EXPOSE 8000
# /healthz: the process is alive (no I/O); /readyz says whether it can work (docs/operations.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["directpost-entrypoint", "healthcheck"]
ENTRYPOINT ["directpost-entrypoint"]
CMD ["serve"]
