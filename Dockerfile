# Code-location image: the platform's Dagster definitions, dbt project and locked dependencies.
# Run with PLATFORM_WAREHOUSE_URL / DAGSTER_POSTGRES_URL pointing at real PostgreSQL servers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DAGSTER_HOME=/app
WORKDIR /app

RUN pip install --no-cache-dir "uv==0.13.9"
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode
COPY platform_assets ./platform_assets
COPY dbt_project ./dbt_project
COPY dagster.yaml workspace.yaml ./
RUN uv sync --frozen --no-dev --compile-bytecode \
 && cd dbt_project && PLATFORM_PGHOST=localhost PLATFORM_PGPORT=5432 PLATFORM_PGUSER=postgres PLATFORM_PGDATABASE=warehouse \
    /app/.venv/bin/dbt parse --quiet --profiles-dir .

ENV PATH="/app/.venv/bin:$PATH"
EXPOSE 3000 4000
# Code server for a Dagster deployment; override with `dagster-webserver ...` or `dagster-daemon run`.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "platform_assets.definitions"]
