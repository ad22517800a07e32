#!/usr/bin/env bash
# A local PostgreSQL server for the tests of the search's shared storage (Debian's package; CI runs as root).
# Prints the database URL the tests read from OPTLAB_TEST_POSTGRES.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >&2
pg_ctlcluster "$version" main start >&2 || pg_lsclusters -h | grep -q "^$version main .* online" 
port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"
su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'optlab'\"" >&2
su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_database WHERE datname = 'optlab_test'\"" | grep -q 1 \
    || su postgres -c "createdb -p $port optlab_test" >&2
echo "postgresql://postgres:optlab@127.0.0.1:$port/optlab_test"
