# The comment moderation service: one image for the API (`moderation serve`), the workers
# (`moderation worker`) and the one-shot jobs (`moderation migrate`, `moderation train`).
#
#   docker build -t comment-moderation .
#   docker compose up -d          # compose.yaml: Redis, PostgreSQL, init (migrate + first model), API, workers
#
# Nothing secret is in the image: DATABASE_URL, REDIS_URL and SECRET_KEY come from the environment at run
# time. MODERATION_HOME (/var/lib/moderation) is a volume: it holds the model registry (models/), the
# sentence encoder's embedding cache (embeddings/) and the editors' catalogue extensions (catalogue/); the
# API, every worker and the training job must see the same one (see docs/deployment.md).
#
# PYTHON_IMAGE exists so that a machine without access to Docker Hub can build on a local image of the
# same Python; everyone else keeps the default.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/moderation
# The dependencies first (from pyproject.toml alone), so a code change does not download them again.
COPY pyproject.toml README.md /src/
RUN mkdir -p /src/moderation /src/classifiers /src/workers \
    && /opt/moderation/bin/pip install --quiet /src \
    && /opt/moderation/bin/pip uninstall --quiet --yes comment-moderation
COPY moderation /src/moderation
COPY classifiers /src/classifiers
COPY workers /src/workers
RUN /opt/moderation/bin/pip install --quiet --no-deps /src

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/moderation --shell /usr/sbin/nologin \
        moderation \
    && mkdir -p /var/lib/moderation \
    && chown moderation:moderation /var/lib/moderation
COPY --from=build /opt/moderation /opt/moderation
ENV PATH=/opt/moderation/bin:$PATH \
    MODERATION_HOME=/var/lib/moderation \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER moderation
WORKDIR /var/lib/moderation
VOLUME ["/var/lib/moderation"]
EXPOSE 8000
# /healthz answers while the API process serves; the worker service in compose.yaml replaces this check
# with one of its own (a worker has no port).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# gunicorn processes: about two per core of the container (`--workers`); `?wait` requests hold a thread.
CMD ["moderation", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--threads", "8"]
