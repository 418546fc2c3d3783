-- The app's own tables. Every one starts with `dbt_`: the engine excludes that prefix from transfers.
CREATE TABLE dbt_settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE dbt_admins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE dbt_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX dbt_sessions_expires_at ON dbt_sessions (expires_at);
