# Two-command quick start:  `make run`  then  `make test`.
# Needs only Python 3.11+ and make: uv is bootstrapped into .platform/bootstrap and
# installs the locked environment (uv.lock) into .venv.

PYTHON ?= python3
START ?= 2013-01-01
END ?= 2013-12-31
BOOT := .platform/bootstrap
UV := $(BOOT)/bin/uv
VENV_BIN := .venv/bin
UV_VERSION := 0.13.9

# Dagster's instance is the top-level dagster.yaml (dagster-postgres storage at
# $DAGSTER_POSTGRES_URL). `make up` (part of `make install`) starts the embedded PostgreSQL and
# writes DAGSTER_HOME, DAGSTER_POSTGRES_URL and Dagster's event-log settings into .env, which
# Dagster's CLIs and dg load from the current directory, so nothing needs exporting.
# The venv's tools first, so subprocesses (dbt under `dagster dev`) find them too.
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: install up lint image container-test celery-test run publish materialize summary checks test ui-test docs docs-serve dev benchmark benchmark-30x benchmark-day-scale benchmark-latency benchmark-backfill benchmark-celery stop clean

install: .venv/.installed dbt_project/target/manifest.json up

## up: start the embedded PostgreSQL (instance and warehouse) and write .env; every target
## below runs it first, so after a reboot or `make stop` any of them brings the server back.
## Each .env line is NAME=${NAME:-default}: an exported value wins; other lines are kept.
up: .venv/.installed
	@$(VENV_BIN)/platform-assets up

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.installed: $(UV) pyproject.toml uv.lock
	# Precompile bytecode: imports of dagster and dbt are slow without it, and some
	# environments set PYTHONDONTWRITEBYTECODE so it would never be cached.
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	touch $@

dbt_project/target/manifest.json: .venv/.installed $(shell find dbt_project/models dbt_project/macros dbt_project/tests platform_assets/defs -type f 2>/dev/null) dbt_project/dbt_project.yml
	$(VENV_BIN)/platform-assets dbt-sources
	cd dbt_project && ../$(VENV_BIN)/dbt parse --quiet --profiles-dir .

## run: install, publish the 2013 sample drops, materialize every asset for the year in one ranged run, summarise
run: install publish materialize summary

publish: install
	$(VENV_BIN)/platform-assets publish-sample --start $(START) --end $(END)

materialize: install
	$(VENV_BIN)/dagster asset materialize \
		-m platform_assets.definitions --select '*' --partition-range $(START)...$(END)

summary: install
	$(VENV_BIN)/platform-assets summary

## checks: every asset check (Python and dbt) on what the warehouse holds for START..END; fails on an ERROR check
checks: install
	$(VENV_BIN)/platform-assets check --start $(START) --end $(END)

## test: the whole test suite (unit + integration on the embedded PostgreSQL), two workers:
## each test module stays on one worker (module fixtures), each worker has its own server
test: install
	$(VENV_BIN)/pytest -q -n 2 --dist loadfile -m "not container and not ui and not celery"

## lint: ruff (lint and format check) on the Python code, mypy on platform_assets/, sqlfluff on the dbt models
LINTED := platform_assets tests benchmarks
lint: .venv/.installed
	$(VENV_BIN)/ruff check $(LINTED)
	$(VENV_BIN)/ruff format --check $(LINTED)
	$(VENV_BIN)/mypy
	cd dbt_project && ../$(VENV_BIN)/sqlfluff lint models --disable-progress-bar

## docs: the documentation site into build/site (mkdocs --strict: a broken link fails); the
## generated pages (source YAML reference, dbt models, performance) must be current
docs: .venv/.installed
	$(VENV_BIN)/platform-assets yaml-reference --check
	$(VENV_BIN)/platform-assets marts-dictionary --check
	$(VENV_BIN)/python benchmarks/report.py --check
	NO_MKDOCS_2_WARNING=1 $(VENV_BIN)/mkdocs build --strict --quiet

## docs-serve: the documentation site on http://127.0.0.1:8000, rebuilt on every change
docs-serve: .venv/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV_BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

## ui-test: the Dagster UI in a real browser (Playwright driving Debian's chromium, which must be
## installed: apt-get install chromium) against `dagster dev` on a materialized January 2013;
## writes the screenshots in docs/screenshots/
ui-test: install
	$(VENV_BIN)/pytest -q -m ui tests/ui

## celery-test: Dagster's Celery executor with real workers and a Redis broker, on loopback and on
## test hosts (network namespaces: needs root, iproute2, and Debian's redis-server:
## apt-get install redis-server; .ci/run installs it)
celery-test: install
	$(VENV_BIN)/pytest -q -m celery tests/integration/test_celery_executor.py tests/integration/test_celery_hosts.py

## dev: the Dagster UI and daemon on http://127.0.0.1:3000; a backfill launched there runs in chunks
## of at most BACKFILL_DAYS_PER_RUN days, one run each (0: the whole range in one run)
BACKFILL_DAYS_PER_RUN ?= 92
dev: install
	PLATFORM_BACKFILL_PARTITIONS_PER_RUN=$(BACKFILL_DAYS_PER_RUN) \
		$(VENV_BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## image: the platform image (platform-assets:latest and :<commit>), built offline from a wheelhouse of uv.lock
IMAGE ?= platform-assets
GIT_SHA = $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
PIP_CERT = $(shell $(BOOT)/bin/pip config get global.cert 2>/dev/null)
image: install
	bash deploy/docker/base-images.sh
	rm -rf build/wheelhouse && mkdir -p build/wheelhouse
	$(UV) export --frozen --no-dev --extra deploy --extra celery --no-emit-project --no-hashes -q -o build/requirements.txt
	$(UV) build --wheel -q -o build/wheelhouse
	# Wheels for the image's Python, which may differ from the host's in the patch version
	# (environment markers such as python_full_version < '3.11.3' are evaluated for it).
	image_python=$$(docker run --rm --network none python:3.11-slim-bookworm python3 -c \
		'import platform; print(platform.python_version())') \
	&& $(VENV_BIN)/python deploy/docker/image_requirements.py "$$image_python" build/requirements.txt \
		> build/requirements-image.txt
	$(BOOT)/bin/pip wheel --isolated $(if $(PIP_CERT),--cert $(PIP_CERT)) --disable-pip-version-check -q \
		--no-deps -r build/requirements-image.txt -w build/wheelhouse
	DOCKER_BUILDKIT=0 docker build --network none --force-rm -t $(IMAGE):latest -t $(IMAGE):$(GIT_SHA) .
	docker image inspect $(IMAGE):latest --format 'image size: {{.Size}} bytes'

## container-test: the Docker stack on a real Docker engine (needs dockerd; .ci/run installs and starts it)
container-test: image
	$(VENV_BIN)/pytest -q -m container tests/container

## benchmark: Dagster's floor and dbt alone beside a day, the year, checks-only and 10x the year (alternating, medians of 3)
benchmark: install
	$(VENV_BIN)/python benchmarks/run_benchmark.py

## benchmark-30x: the year with 30x the flights (10.1 M), once, beside the floor
benchmark-30x: install
	$(VENV_BIN)/python benchmarks/run_benchmark.py --only floor_year,scaled --scale 30 --repeats 1 --label scale30

## benchmark-day-scale: one day of 1 M, 10 M and 30 M flights, each its day's own run, beside the bare floor
## (COPY of that landing file + one aggregate); medians of 3 rounds, 30 M once
benchmark-day-scale: install
	$(VENV_BIN)/python benchmarks/day_scale.py

benchmark-latency: install
	$(VENV_BIN)/python benchmarks/landing_latency.py

## benchmark-backfill: the year as one CLI run beside daemon backfills in chunks of 0 (one run), 31 and 92 days
benchmark-backfill: install
	$(VENV_BIN)/python benchmarks/backfill_chunks.py

## benchmark-celery: a day and a month with the in-process executor beside the Celery executor
## (Redis and two workers on loopback; needs Debian's redis-server), medians of 3
benchmark-celery: install
	$(VENV_BIN)/python benchmarks/celery_executor.py

stop:
	-$(VENV_BIN)/platform-assets warehouse-stop

clean: stop
	rm -rf .platform data dbt_project/target dbt_project/logs .venv
