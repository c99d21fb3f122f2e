# One image for all three processes; the command picks the role:
#   API (default)  python -m services.api
#   extractor      arq services.extractor.worker.WorkerSettings
#   imagegen       arq services.imagegen.worker.WorkerSettings
#   migrations     alembic upgrade head
# Settings come from FILMASSETS_* env vars (shared/config.py). The image sets no environment
# (development/production): compose and the Kubernetes manifests do.

# Bookworm matches the Debian the project is developed and tested on. For reproducible builds pin a
# digest as well: --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src

# Runtime dependencies first, in their own layer: a source change does not reinstall them. Only
# [project].dependencies: the dev extras (pytest, moto, mypy, ...) stay out of the image. The pinned
# dependencies install from binary wheels on CPython 3.11 x86_64, so the image needs no compiler.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt

COPY shared/ shared/
COPY services/ services/
RUN pip install -c requirements.lock . \
    && pip check


FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in Kubernetes; bytecode is compiled at
# build time instead. API_HOST: inside a container the loopback default would be unreachable.
# STORAGE_LOCAL_DIR: the mount point of the shared volume when FILMASSETS_STORAGE_BACKEND=local.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    FILMASSETS_API_HOST=0.0.0.0 \
    FILMASSETS_API_PORT=8000 \
    FILMASSETS_STORAGE_LOCAL_DIR=/data/storage

# /data/storage is created owned by the app user so that a fresh named volume mounted there
# (compose copies the image's directory into it) is writable without running as root.
# WordNet's data: the offline extractor uses it to tell physical objects (props) from abstractions.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wordnet-base \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --uid "${APP_UID}" --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /data/storage \
    && chown "${APP_UID}:${APP_UID}" /data/storage

COPY --from=build /opt/venv /opt/venv

# The package is installed in the venv; the source tree is here too because Alembic needs
# alembic.ini and alembic/ (and imports shared/ through prepend_sys_path = .).
WORKDIR /app
COPY alembic.ini ./
COPY alembic/ alembic/
COPY shared/ shared/
COPY services/ services/
RUN python -m compileall -q shared services alembic

USER ${APP_UID}:${APP_UID}
EXPOSE 8000
CMD ["python", "-m", "services.api"]
