# incident-bot: one replica. Scale out by running several behind a load balancer on one PostgreSQL.
# The base is pinned by version and by the digest of its multi-architecture index. To move it:
#   docker buildx imagetools inspect python:<version>-slim-bookworm   # the "Digest:" line
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 bot && useradd --create-home --uid 10001 --gid 10001 bot \
    && mkdir -p /data && chown bot:bot /data
WORKDIR /app

# Dependencies in their own layer, from the lock (pinned versions and hashes): a change to the code
# rebuilds only the layers below this one.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# The packages of pyproject.toml's [tool.setuptools.packages.find]; .dockerignore lets only these in.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY runtime ./runtime
COPY services ./services
COPY storage ./storage
COPY messages ./messages
COPY config ./config
COPY domain ./domain
COPY slack_emulator ./slack_emulator
COPY web ./web
RUN pip install --no-deps . && rm -rf build *.egg-info

# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 10001:10001
WORKDIR /data
ENV DATABASE_URL=sqlite:////data/incident-bot.db
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"
# HTTP mode, as `make serve`; Socket Mode: `incident-bot serve` (docker-compose.socket.yml).
CMD ["incident-bot", "serve", "--http"]
