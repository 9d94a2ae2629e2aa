#!/bin/sh
# The production profile's PostgreSQL standby: on its first start, a copy of the primary (pg_basebackup -R: it starts as
# a streaming standby); then PostgreSQL. Promote it with `docker compose exec -u postgres ha-postgres-2 pg_ctl promote`.
set -e
PRIMARY="${PRIMARY_HOST:-ha-postgres-1}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres "$PGDATA"
  chmod 700 "$PGDATA"
  until pg_isready -h "$PRIMARY" -q; do sleep 1; done
  PGPASSWORD="$POSTGRES_PASSWORD" gosu postgres pg_basebackup -h "$PRIMARY" -U replicator -D "$PGDATA" -R -X stream
fi
exec gosu postgres postgres -D "$PGDATA"
