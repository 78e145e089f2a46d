#!/usr/bin/env bash
# Installs (if needed) and starts PostgreSQL 15 from Debian packages on 127.0.0.1:5432 with password auth
# for user postgres/postgres, then prints the connection URL the tests read from $YOI_TEST_PG.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters | grep -q "^$version *main" || pg_createcluster "$version" main >&2
pg_ctlcluster "$version" main start >&2 || true   # exit code 2: already running
for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -q && break; sleep 0.5; done
pg_isready -h 127.0.0.1 -q
su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
echo "postgres://postgres:postgres@127.0.0.1:5432/postgres"
