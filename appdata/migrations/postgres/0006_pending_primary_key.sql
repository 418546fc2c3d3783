-- The primary key a transfer took off a table it created here (for its first rows), recorded in the same
-- transaction as the drop: `primary_key_sql` is the statement that puts that key back, built from the table as it
-- was; `key_taken_off` says the key came off once, so it never comes off again (another transfer into the table,
-- even after it is back). A row holding a stored key is not removed while the table lacks its key.
ALTER TABLE dbt_pending_constraints ADD COLUMN primary_key_sql TEXT;
ALTER TABLE dbt_pending_constraints ADD COLUMN key_taken_off BOOLEAN NOT NULL DEFAULT FALSE;
