# Build in one stage from the hash-pinned lock file; run as a non-root user in a slim one.
FROM python:3.11-slim AS build
WORKDIR /src
# Every dependency (and the build backend) at the version and hashes `make lock` wrote: a
# changed or substituted package fails the build instead of reaching the image.
COPY requirements.lock ./
RUN python -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY db ./db
COPY graph ./graph
COPY workers ./workers
RUN /venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway \
    && mkdir -p /home/gateway/var/exports && chown -R gateway /home/gateway/var
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite+aiosqlite:////home/gateway/var/gateway.db
USER gateway
WORKDIR /home/gateway
EXPOSE 8000
# Asks the port the server listens on (PORT), not a fixed one. Containers that serve no HTTP
# (a worker, a one-shot migration) replace or disable it; see docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\"; sys.exit(urllib.request.urlopen(url, timeout=2).status != 200)"]
# One replica: migrate, then serve. With several, run `gateway migrate` once per release instead
# (docker-compose.yml has a one-shot service for it).
CMD ["sh", "-c", "gateway migrate && exec gateway serve"]
