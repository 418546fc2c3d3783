-- A job's runner holds a lease while it works: another runner (the same job delivered twice, or a replica after
-- a missed heartbeat) waits until the lease lapses instead of running the job a second time.
ALTER TABLE dbt_jobs ADD COLUMN runner TEXT;
ALTER TABLE dbt_jobs ADD COLUMN lease_until BIGINT;
