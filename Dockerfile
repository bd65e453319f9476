# The wirewatch worker image. Build context: the repository root.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first (hash-checked lock), so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY topics ./topics
COPY workers ./workers
RUN pip install --no-deps . && useradd --create-home --uid 10001 wirewatch && mkdir -p /data && chown wirewatch /data

USER wirewatch
ENV WIREWATCH_DATA_DIR=/data/worker
ENTRYPOINT ["wirewatch"]
CMD ["worker"]
