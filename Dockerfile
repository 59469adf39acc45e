# One image for every role of a Dagster deployment of the platform: code server, webserver,
# daemon and the run workers DockerRunLauncher / K8sRunLauncher / EcsRunLauncher start.
#
#   make image      # builds build/wheelhouse from uv.lock on the host, then this image offline
#
# Dependencies come from a wheelhouse built from uv.lock (`make image`), so the build needs no
# network (`docker build --network none`) and is reproducible. No secrets are baked in: the
# warehouse, instance database, landing zone and lake are given at run time through
# PLATFORM_WAREHOUSE_URL, DAGSTER_POSTGRES_URL, PLATFORM_LANDING_URL, PLATFORM_LAKE_URL
# (see docker-compose.yml and deploy/).
# Stage 1: the virtual environment, from the wheelhouse only (no index, no network).
FROM python:3.11-slim-bookworm AS venv
COPY build/requirements.txt /tmp/requirements.txt
COPY build/wheelhouse /tmp/wheelhouse
RUN python3 -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse -r /tmp/requirements.txt \
 && /app/.venv/bin/pip install --no-cache-dir --no-index --no-deps /tmp/wheelhouse/platform_assets-*.whl \
 && /app/.venv/bin/python -m compileall -q /app/.venv/lib

# Stage 2: the image: the environment, the dbt project with its parsed manifest, an unprivileged user.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    PLATFORM_HOME=/app \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_EVENT_BATCH_SIZE=1000 \
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true \
    PATH=/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# An unprivileged user owns nothing but its home, the Dagster home, the dbt target and /data.
RUN groupadd --system --gid 10001 platform \
 && useradd --system --uid 10001 --gid platform --home-dir /home/platform --create-home platform \
 && mkdir -p /app /opt/dagster/home /data && chown platform:platform /opt/dagster/home /data

WORKDIR /app
COPY --from=venv /app/.venv /app/.venv
COPY pyproject.toml workspace.yaml ./
# The Docker stack's instance (DockerRunLauncher, storage from the environment); compose sets
# DAGSTER_HOME to it. The default home has no dagster.yaml, so the image alone runs commands
# such as `dagster definitions validate` with nothing configured.
COPY deploy/docker/dagster.yaml /opt/dagster/stack/dagster.yaml
COPY deploy/docker/workspace.yaml /app/deploy/docker/workspace.yaml
# The Celery workers' config (dagster-celery worker start -y /app/deploy/celery/worker.yaml).
COPY deploy/celery/worker.yaml /app/deploy/celery/worker.yaml
COPY dbt_project ./dbt_project
# The parsed dbt manifest is baked in (dagster-dbt reads it at import); parsing needs no database.
RUN cd dbt_project && rm -rf target logs \
 && PLATFORM_PGHOST=localhost PLATFORM_PGPORT=5432 PLATFORM_PGUSER=postgres PLATFORM_PGDATABASE=warehouse \
    /app/.venv/bin/dbt parse --quiet --profiles-dir . \
 && rm -rf logs && chown -R platform:platform /app/dbt_project

USER platform
EXPOSE 3000 4000
# The code server answers gRPC health checks; other roles override the command (compose).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "platform_assets.definitions"]
