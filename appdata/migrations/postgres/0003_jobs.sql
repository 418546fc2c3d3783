-- Background transfers: one row per job (what to pull from which sender, and how it stands) and one per table of
-- the job. A table's cursor and counts move in the same transaction as the page they describe, so a job that
-- restarts continues exactly after the last committed page. The queue itself (which worker runs what) is apalis's.
CREATE TABLE dbt_jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin            TEXT NOT NULL,
    sender           TEXT NOT NULL,
    -- 'code.XXXXXXXX' until the first connection, then 'resume.TOKEN'; cleared when the job ends for good.
    credential       TEXT,
    transfer_id      BIGINT NOT NULL,
    create_missing   BOOLEAN NOT NULL,
    batch_size       BIGINT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'queued',
    attempts         BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    message          TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT
);
CREATE INDEX dbt_jobs_state ON dbt_jobs (state);

CREATE TABLE dbt_job_tables (
    job_id        BIGINT NOT NULL REFERENCES dbt_jobs (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    table_name    TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    cursor        TEXT,
    created_table BOOLEAN NOT NULL DEFAULT FALSE,
    total         BIGINT,
    rows_done     BIGINT NOT NULL DEFAULT 0,
    pages         BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    errors        BIGINT NOT NULL DEFAULT 0,
    message       TEXT,
    started_at    BIGINT,
    finished_at   BIGINT,
    PRIMARY KEY (job_id, position)
);
