-- Tables a transfer created here whose constraints after the data (foreign keys, secondary indexes) are not in
-- yet: recorded before the table is created, removed once they are added. A transfer that finds its table
-- listed (the one that created it was killed, or failed in between) adds them after its own data.
CREATE TABLE dbt_pending_constraints (
    table_name TEXT PRIMARY KEY,
    since      BIGINT NOT NULL
);
