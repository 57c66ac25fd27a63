# incident-bot: one replica. Scale out by running several behind a load balancer on one PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 bot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY messages ./messages
COPY storage ./storage
COPY config ./config
RUN pip install . && mkdir -p /data && chown bot:bot /data

USER bot
WORKDIR /data
ENV DATABASE_URL=sqlite:////data/incident-bot.db
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"
CMD ["incident-bot", "serve"]
