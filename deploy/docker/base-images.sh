#!/usr/bin/env bash
# Base images the platform's Dockerfile and docker-compose.yml name, made locally when no
# registry can be reached.
#
# Where `docker pull` works (a normal machine), this pulls the official images and stops.
# Where it does not (an air-gapped build host, our CI), it builds stand-ins from Debian's
# own packages and tags them with the official names, so the Dockerfile and the compose file
# stay exactly what a user with a registry runs:
#
#   python:3.11-slim-bookworm   Debian bookworm (minbase) + python3 (3.11), venv, pip, CA certificates
#   postgres:15-bookworm        Debian bookworm + postgresql-15, with an entrypoint honouring the
#                               official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB
#   redis:7-bookworm            Debian bookworm + redis-server (7.0), the Celery workers' broker
#
# Needs root, debootstrap and a reachable Debian mirror (DEBIAN_MIRROR). Idempotent: images
# already present are kept.
set -euo pipefail

PYTHON_IMAGE=${PYTHON_IMAGE:-python:3.11-slim-bookworm}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-postgres:15-bookworm}
REDIS_IMAGE=${REDIS_IMAGE:-redis:7-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HERE=$(cd "$(dirname "$0")" && pwd)

have() { docker image inspect "$1" >/dev/null 2>&1; }
pull() { timeout 120 docker pull -q "$1" >/dev/null 2>&1; }

rootfs=""
cleanup() { [ -n "$rootfs" ] && rm -rf "$rootfs"; return 0; }
trap cleanup EXIT

ensure_debian_root() {
  # One minimal bookworm tree (in this shell, not a subshell, so it is made once), copied per image.
  command -v debootstrap >/dev/null || { echo "no registry reachable and no debootstrap: apt-get install debootstrap" >&2; exit 1; }
  if [ -z "$rootfs" ]; then
    rootfs=$(mktemp -d)
    echo "debootstrap bookworm from $DEBIAN_MIRROR ..." >&2
    debootstrap --variant=minbase bookworm "$rootfs/base" "$DEBIAN_MIRROR" >/dev/null
  fi
}

debian_root() {
  cp -a "$rootfs/base" "$rootfs/$1"
  echo "$rootfs/$1"
}

install_into() {
  local tree=$1; shift
  local log="$rootfs/apt.log"
  chroot "$tree" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$log" 2>&1 \
    || { tail -30 "$log" >&2; exit 1; }
  chroot "$tree" apt-get clean
  rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin
}

if have "$PYTHON_IMAGE" || pull "$PYTHON_IMAGE"; then
  echo "$PYTHON_IMAGE: present"
else
  ensure_debian_root
  tree=$(debian_root python)
  install_into "$tree" python3 python3-venv python3-pip ca-certificates
  ln -sf python3 "$tree/usr/bin/python"
  tar -C "$tree" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$PYTHON_IMAGE" >/dev/null
  echo "$PYTHON_IMAGE: built from Debian packages"
fi

if have "$POSTGRES_IMAGE" || pull "$POSTGRES_IMAGE"; then
  echo "$POSTGRES_IMAGE: present"
else
  ensure_debian_root
  tree=$(debian_root postgres)
  install_into "$tree" postgresql-15 ca-certificates
  install -m 0755 "$HERE/postgres-entrypoint.sh" "$tree/usr/local/bin/docker-entrypoint.sh"
  tar -C "$tree" -c . | docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    - "$POSTGRES_IMAGE" >/dev/null
  echo "$POSTGRES_IMAGE: built from Debian packages"
fi

if have "$REDIS_IMAGE" || pull "$REDIS_IMAGE"; then
  echo "$REDIS_IMAGE: present"
else
  ensure_debian_root
  tree=$(debian_root redis)
  install_into "$tree" redis-server
  tar -C "$tree" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["redis-server"]' \
    - "$REDIS_IMAGE" >/dev/null
  echo "$REDIS_IMAGE: built from Debian packages"
fi
