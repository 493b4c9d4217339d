#!/usr/bin/env bash
# Install (Debian package), start and prepare a local PostgreSQL server for the weld-log tests.
# Prints the test database URL on stdout (the caller exports it as WELDCELL_TEST_PG_URL).
# Idempotent: a running cluster, an existing role or database are kept.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
fi
cluster=$(pg_lsclusters --no-header | head -n1)
if [ -z "$cluster" ]; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  pg_createcluster "$ver" main >&2
  cluster=$(pg_lsclusters --no-header | head -n1)
fi
read -r ver name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$ver" "$name" start >&2
fi
as_pg() { (cd /tmp && su postgres -c "$*"); }
role=weldcell_test
db=weldcell_test
if ! as_pg "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"" | grep -q 1; then
  as_pg "psql -p $port -qc \"CREATE ROLE $role LOGIN PASSWORD '$role'\"" >&2
fi
if ! as_pg "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"" | grep -q 1; then
  as_pg "createdb -p $port -O $role $db" >&2
fi
echo "postgresql://$role:$role@127.0.0.1:$port/$db"
