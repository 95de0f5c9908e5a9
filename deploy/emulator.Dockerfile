# syntax=docker/dockerfile:1
# The local TikTok emulator alone (`directpost emulator`): no web app, no database, no extras.
# Build: docker build -f deploy/emulator.Dockerfile -t directpost-emulator .
# Run:   docker run --rm -p 9100:9100 directpost-emulator [--seed /seed.json] [--state-dir DIR]
# (docs/emulator.md, "Docker"; tests/deploy/test_emulator_dockerfile.py checks this file).

# --- build: the project without its dependencies, and only what the emulator imports -----------
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# The pins are pyproject.toml's (starlette, anyio and PyYAML come through fastapi and the dev
# tools there); cryptography makes the --tls certificates, PyYAML reads YAML seed files.
RUN printf '%s\n' \
      "typer>=0.15" \
      "starlette>=0.40" \
      "anyio>=4" \
      "uvicorn>=0.32,<0.55" \
      "httptools>=0.6" \
      "httpx2>=2.16" \
      "jinja2>=3.1" \
      "python-multipart>=0.0.18" \
      "av>=14" \
      "pillow>=11" \
      "cryptography>=44" \
      "pyyaml>=6" \
      > /src/emulator-requirements.txt \
 && pip wheel --no-deps --wheel-dir /wheels . \
 && pip wheel --wheel-dir /wheels -r /src/emulator-requirements.txt \
 && cp /src/emulator-requirements.txt /wheels/

# --- runtime: those wheels installed, a user without privileges ---------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels -r /wheels/emulator-requirements.txt \
 && pip install --no-index --find-links /wheels --no-deps directpost \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/directpost-emulator \
    --create-home --shell /usr/sbin/nologin emulator
USER emulator
WORKDIR /var/lib/directpost-emulator
EXPOSE 9100
# /_emulator/health answers without doing any work, in every mode (emulate, record, replay).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/_emulator/health', timeout=2)"]
# Arguments given to `docker run` after the image name are added to these.
ENTRYPOINT ["directpost", "emulator", "--host", "0.0.0.0", "--port", "9100"]
