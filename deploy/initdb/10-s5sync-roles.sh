#!/bin/sh
# First start of the db service only (the postgres image runs /docker-entrypoint-initdb.d
# when its data directory is empty): the two roles of docs/operations.md §10.
#   s5sync_owner — BYPASSRLS, owns the schema: `db upgrade`, operator commands, Directory;
#   s5sync_app   — no BYPASSRLS, owns nothing: every store-bound transaction (R22).
# `s5sync db upgrade` (the migrate service) then creates the tables as s5sync_owner and
# grants s5sync_app its rights on each of them.
set -eu
: "${DB_OWNER_PASSWORD:?set DB_OWNER_PASSWORD in deploy/s5sync.env}"
: "${DB_APP_PASSWORD:?set DB_APP_PASSWORD in deploy/s5sync.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$DB_OWNER_PASSWORD" -v app_pw="$DB_APP_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE s5sync_owner LOGIN BYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE s5sync_app LOGIN NOBYPASSRLS PASSWORD :'app_pw';
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"db" TO s5sync_owner;
GRANT CONNECT ON DATABASE :"db" TO s5sync_app;
ALTER SCHEMA public OWNER TO s5sync_owner;
GRANT USAGE ON SCHEMA public TO s5sync_app;
SQL
