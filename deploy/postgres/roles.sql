-- AIQLeads production database roles (see SECURITY.md, "Secrets, logs and database roles").
--
-- Run once per database by a DBA (a superuser or a role with CREATEROLE), e.g.
--   psql "$ADMIN_URL" -v owner_password=… -v app_password=… -v dbname=aiqleads -f deploy/postgres/roles.sql
--
-- aiqleads_owner owns the schema and is the only role migrations run as
--   (AIQ_MIGRATION_DATABASE_URL). It is not a superuser; the extensions are created here, once.
-- aiqleads_app is what the API and the worker connect as (DATABASE_URL): it can read and write
--   rows and use sequences, nothing else — no CREATE/ALTER/DROP/TRUNCATE, owns nothing.
-- `aiqleads migrate` re-applies the table/sequence grants after every migration, and the default
-- privileges below cover tables that later migrations create.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE aiqleads_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'owner_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aiqleads_owner') \gexec
SELECT format('CREATE ROLE aiqleads_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'aiqleads_app') \gexec
ALTER ROLE aiqleads_owner NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE aiqleads_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

SELECT format('CREATE DATABASE %I OWNER aiqleads_owner', :'dbname')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec
\connect :dbname

-- extensions need a superuser; created once here so migrations never need one
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER SCHEMA public OWNER TO aiqleads_owner;
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"dbname" TO aiqleads_owner, aiqleads_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO aiqleads_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO aiqleads_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO aiqleads_app;
ALTER DEFAULT PRIVILEGES FOR ROLE aiqleads_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO aiqleads_app;
ALTER DEFAULT PRIVILEGES FOR ROLE aiqleads_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO aiqleads_app;
REVOKE INSERT, UPDATE, DELETE ON public.spatial_ref_sys FROM aiqleads_app;
-- The tables that are append-only for the application (credit_ledger, audit_log: no UPDATE or
-- DELETE) do not exist yet when this runs; `aiqleads migrate` revokes those rights after each
-- upgrade (aiqleads/db_roles.py, APPEND_ONLY_TABLES).
