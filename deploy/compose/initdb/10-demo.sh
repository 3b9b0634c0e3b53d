#!/bin/bash
# The upstream agents reach through Chaperone: role chaperone_upstream owning database demo,
# seeded from deploy/local/seed/demo.sql (the same rows as the local stack).
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U postgres -d postgres <<SQL
CREATE ROLE chaperone_upstream LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${UPSTREAM_PASSWORD}';
CREATE DATABASE demo OWNER chaperone_upstream;
SQL
{ echo 'SET ROLE chaperone_upstream;'; cat /seed/demo.sql; } | psql -v ON_ERROR_STOP=1 -1 -U postgres -d demo >/dev/null
