-- Transfer history: every transfer this site received (browser-relayed, CLI, background), counted by the
-- importing side.
CREATE TABLE dbt_transfers (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin       TEXT NOT NULL,
    channel     TEXT NOT NULL,
    sender      TEXT NOT NULL,
    tables      TEXT NOT NULL,
    rows_done   BIGINT NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL DEFAULT 0,
    updated     BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    errors      BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT 'running',
    message     TEXT,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX dbt_transfers_started_at ON dbt_transfers (started_at);
