#!/bin/sh
# The production profile's PostgreSQL primary, first start only (docker-entrypoint-initdb.d): lets the standby stream
# from it as `replicator` (password POSTGRES_PASSWORD) and the balancer's check log in as `haproxy_check`, which may
# only connect and ask pg_is_in_recovery().
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$POSTGRES_PASSWORD';
CREATE ROLE haproxy_check WITH LOGIN;
SQL
# First lines: pg_hba.conf is read top down, and the image's own end with a catch-all password rule.
sed -i '1i host replication replicator all scram-sha-256\nhost postgres haproxy_check all trust' "$PGDATA/pg_hba.conf"
