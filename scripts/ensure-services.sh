#!/usr/bin/env bash
# The tests need PostgreSQL (CT_TEST_PG_DSN, default postgresql://postgres@127.0.0.1:5432/postgres).
# Start the local cluster if it is down; fail loudly if it still cannot be reached. Never skip.
set -euo pipefail
host=127.0.0.1
port=5432
if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down: starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
  fi
fi
if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  echo "error: PostgreSQL is not reachable on $host:$port; the tests need it" >&2
  exit 1
fi
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
  echo "error: the mosquitto binary is missing; broker tests need it (scripts/system-deps.sh test)" >&2
  exit 1
}
