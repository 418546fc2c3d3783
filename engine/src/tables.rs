//! The engine's table operations on one database, whichever engine it is: list, schema, count, exists, export,
//! import. Every operation resolves the name first: invalid, excluded, the app's own, or missing tables are
//! `TableNotFound`, whatever operation asks.

use crate::error::EngineError;
use crate::plan::ImportPlan;
use crate::{postgres, sqlite};
use appdata::jobs::Checkpoint;
use protocol::exclusions::Exclusions;
use protocol::ident::TableName;
use protocol::page::Page;
use protocol::request::{ExportedPage, ImportResult, PageRequest, Strategy};
use protocol::schema::{TableInfo, TableSchema};
use store::Db;

#[derive(Debug, Clone)]
pub struct Tables {
    db: Db,
    exclusions: Exclusions,
}

/// A table that exists and may be transferred, with what finding it cost (on PostgreSQL: its oid and schema).
struct Resolved {
    name: TableName,
    pg: Option<postgres::inspect::Found>,
}

impl Resolved {
    fn pg(&self) -> Result<&postgres::inspect::Found, EngineError> {
        self.pg.as_ref().ok_or_else(|| {
            EngineError::Internal(format!("table {:?} resolved without its PostgreSQL location", self.name.as_str()))
        })
    }
}

impl Tables {
    pub fn new(db: Db, exclusions: Exclusions) -> Tables {
        Tables { db, exclusions }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn exclusions(&self) -> &Exclusions {
        &self.exclusions
    }

    /// Transferable tables with row counts: PostgreSQL's from statistics (instant), SQLite's exact.
    pub async fn list_tables(&self) -> Result<Vec<TableInfo>, EngineError> {
        let all = match &self.db {
            Db::Postgres(pool) => postgres::inspect::list_tables(pool).await?,
            Db::Sqlite(pool) => {
                let names = sqlite::inspect::table_names(pool).await?;
                let names = names.into_iter().filter(|n| !self.exclusions.is_excluded(n)).collect();
                sqlite::inspect::list_tables(pool, names).await?
            }
        };
        Ok(all.into_iter().filter(|t| !self.exclusions.is_excluded(&t.name)).collect())
    }

    /// Like [`Tables::list_tables`] with exact counts everywhere (a full count per table on PostgreSQL).
    pub async fn list_tables_exact(&self) -> Result<Vec<TableInfo>, EngineError> {
        let mut tables = self.list_tables().await?;
        for t in tables.iter_mut().filter(|t| !t.rows_exact) {
            t.rows = self.get_count(&t.name).await?;
            t.rows_exact = true;
        }
        Ok(tables)
    }

    async fn resolve(&self, name: &str) -> Result<Resolved, EngineError> {
        let not_found = || EngineError::TableNotFound(name.chars().take(80).collect());
        let table = TableName::parse(name).map_err(|_| not_found())?;
        if self.exclusions.is_excluded(table.as_str()) {
            return Err(not_found());
        }
        let found = match &self.db {
            Db::Postgres(pool) => postgres::inspect::find_table(pool, table.as_str()).await?.map(Some),
            Db::Sqlite(pool) => {
                sqlite::inspect::table_names(pool).await?.iter().any(|n| n == table.as_str()).then_some(None)
            }
        };
        found.map(|pg| Resolved { name: table, pg }).ok_or_else(not_found)
    }

    pub async fn table_exists(&self, name: &str) -> Result<bool, EngineError> {
        match self.resolve(name).await {
            Ok(_) => Ok(true),
            Err(EngineError::TableNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_schema(&self, name: &str) -> Result<TableSchema, EngineError> {
        let t = self.resolve(name).await?;
        self.schema_of(&t).await
    }

    async fn schema_of(&self, t: &Resolved) -> Result<TableSchema, EngineError> {
        match &self.db {
            Db::Postgres(pool) => postgres::inspect::get_schema(pool, t.name.as_str(), t.pg()?).await,
            Db::Sqlite(pool) => sqlite::inspect::get_schema(pool, t.name.as_str()).await,
        }
    }

    pub async fn get_count(&self, name: &str) -> Result<i64, EngineError> {
        let t = self.resolve(name).await?;
        match &self.db {
            Db::Postgres(pool) => postgres::inspect::count(pool, &t.name, t.pg()?).await,
            Db::Sqlite(pool) => sqlite::inspect::count(pool, &t.name).await,
        }
    }

    /// One page of rows in the table's stable order, with the cursor of the next.
    pub async fn export_records(&self, name: &str, request: &PageRequest) -> Result<ExportedPage, EngineError> {
        let t = self.resolve(name).await?;
        let schema = self.schema_of(&t).await?;
        match &self.db {
            Db::Postgres(pool) => postgres::export::export(pool, &schema, request).await,
            Db::Sqlite(pool) => sqlite::export::export(pool, &schema, request).await,
        }
    }

    /// A SHA-256 over every row in key order (values with their kinds, in the page encoding), and the row count:
    /// equal on two databases of the same engine exactly when the rows are equal, whatever the counts say.
    pub async fn checksum(&self, name: &str) -> Result<(String, u64), EngineError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        let mut request = PageRequest::first(5000);
        loop {
            let mut exported = self.export_records(name, &request).await?;
            rows += exported.page.rows.len() as u64;
            for c in exported.page.columns.iter_mut() {
                c.source_type.clear();
            }
            hasher.update(exported.page.encode());
            match exported.next {
                Some(cursor) => request.position = protocol::request::Position::After(cursor),
                None => break,
            }
        }
        Ok((protocol::value::hex(&hasher.finalize()), rows))
    }

    /// Writes a page with a conflict strategy, in one transaction; bad rows are reported, good rows land.
    pub async fn import_records(
        &self,
        name: &str,
        page: &Page,
        strategy: Strategy,
    ) -> Result<ImportResult, EngineError> {
        self.import_records_checkpointed(name, page, strategy, None).await
    }

    /// [`Tables::import_records`] that also writes a background job's [`Checkpoint`] in the page's transaction:
    /// the page and the job's cursor and counts commit together or not at all.
    pub async fn import_records_checkpointed(
        &self,
        name: &str,
        page: &Page,
        strategy: Strategy,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<ImportResult, EngineError> {
        let t = self.resolve(name).await?;
        let schema = self.schema_of(&t).await?;
        let plan = ImportPlan::build(&schema, page, strategy)?;
        if page.rows.iter().any(|r| r.len() != page.columns.len()) {
            return Err(EngineError::MalformedPage("a row's length differs from the column count".into()));
        }
        match &self.db {
            Db::Postgres(pool) => postgres::import::import(pool, &plan, page, checkpoint).await,
            Db::Sqlite(pool) => sqlite::import::import(pool, &plan, page, checkpoint).await,
        }
    }

    /// Prepares table `schema.name` here to take a sender's pages of its table `schema` with `strategy`, once per
    /// table: the name resolved, this side's schema read and the plan made here, so no page of the walk reads the
    /// catalog again. `copy`: binary COPY pages are wanted; the prepared table says whether they can go in as
    /// they are (else why not: ordinary pages). A table dropped or changed during the walk makes a page fail
    /// with the database's reason, never land elsewhere.
    ///
    /// The primary key after the data, on PostgreSQL: a table a transfer created here whose constraints are still
    /// pending takes binary COPY pages fastest without its key, whose index COPY would otherwise maintain row by
    /// row (`pg_dump | psql` adds it after the data too). So when binary COPY pages will go in as they are and such
    /// a table is still empty, its key comes off here, and comes back, the same, before anything needs it (see
    /// [`Tables::import_prepared`], [`Tables::import_prepared_copy`], [`Tables::create_constraints_after_data`]).
    /// Such a table that lacks its key here already (a transfer that took it off ended early) gets it back first,
    /// so every strategy matches rows on it as before; rows that break it are an error naming the table.
    pub async fn prepare_import(
        &self,
        sender: &TableSchema,
        strategy: Strategy,
        copy: bool,
    ) -> Result<PreparedImport, EngineError> {
        if sender.columns.len() > protocol::page::MAX_COLUMNS {
            return Err(EngineError::BadRequest(format!(
                "the sender's schema of {:?} has {} columns; at most {} are accepted",
                sender.name.chars().take(80).collect::<String>(),
                sender.columns.len(),
                protocol::page::MAX_COLUMNS
            )));
        }
        let t = self.resolve(&sender.name).await?;
        let mut schema = self.schema_of(&t).await?;
        let pending = match &self.db {
            Db::Postgres(_) => appdata::constraints::pending(&self.db, t.name.as_str()).await?,
            Db::Sqlite(_) => None,
        };
        // A key a transfer took off (one that stopped early, or one still going) comes back first, from the
        // statement stored when it came off, whatever this sender's schema says.
        if let Db::Postgres(pool) = &self.db
            && let Some(add) = pending.as_ref().and_then(|p| p.primary_key_sql.as_deref())
            && schema.primary_key.is_empty()
        {
            let table_sql = postgres::inspect::table_sql(&schema)?;
            if crate::create::add_primary_key(pool, t.name.as_str(), &table_sql, add).await? {
                schema = self.schema_of(&t).await?;
            }
        }
        let columns: Vec<protocol::page::PageColumn> = sender
            .columns
            .iter()
            .map(|c| protocol::page::PageColumn {
                name: c.name.clone(),
                kind: c.kind,
                source_type: c.data_type.clone(),
            })
            .collect();
        let page = Page { columns, rows: Vec::new() };
        let mut plan = ImportPlan::build(&schema, &page, strategy)?;
        if let Db::Postgres(pool) = &self.db {
            plan.sequences = Some(postgres::import::resolve_sequences(pool, &plan).await?);
        }
        let copy = if !copy {
            Err("binary COPY pages were not asked for".to_owned())
        } else {
            binary_copy_fit(&self.db, &plan, sender).map(|()| plan.clone())
        };
        let mut key_off = None;
        // Once in the table's life: a key that came off before (its pending row says so) stays on.
        if let Db::Postgres(pool) = &self.db
            && pending.as_ref().is_some_and(|p| !p.key_taken_off)
            && copy.is_ok()
            && let Some(name) = crate::create::deferrable_primary_key(&schema, sender)
            && let Some(add) =
                crate::create::drop_primary_key_while_empty(pool, t.name.as_str(), &plan.table_sql, name).await?
        {
            tracing::debug!(table = %sender.name, "primary key off until the rows are in");
            key_off = Some(add);
        }
        Ok(PreparedImport {
            schema,
            columns: page.columns.into_iter().map(|c| c.name).collect(),
            plan,
            copy,
            strategy,
            key_off: std::sync::Arc::new(KeyOff { add: futures_util::lock::Mutex::new(key_off) }),
        })
    }

    /// Adds the prepared table's primary key back when the prepared import took it off, before a page that needs
    /// it: an ordinary page (staged and matched with `ON CONFLICT` on the key) or after a refused binary COPY
    /// page (whose rows come again as ordinary pages). Once, whichever page comes first: the others wait for it.
    async fn key_back(&self, prepared: &PreparedImport) -> Result<(), EngineError> {
        let Db::Postgres(pool) = &self.db else { return Ok(()) };
        let mut add = prepared.key_off.add.lock().await;
        if let Some(sql) = add.as_deref() {
            crate::create::add_primary_key(pool, &prepared.schema.name, &prepared.plan.table_sql, sql).await?;
            tracing::debug!(table = %prepared.schema.name, "primary key back before an ordinary page");
            *add = None;
        }
        Ok(())
    }

    /// Writes a page into a table prepared with [`Tables::prepare_import`], with the checkpoint (history counts,
    /// a job's cursor) in the page's transaction. A page whose columns are not the prepared ones (a sender
    /// that sends other columns than its schema said) is planned on its own, checked the same way. A primary key
    /// the prepared import took off comes back first, in its own transaction: the page is matched on it.
    pub async fn import_prepared(
        &self,
        prepared: &PreparedImport,
        page: &Page,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<ImportResult, EngineError> {
        if page.rows.iter().any(|r| r.len() != page.columns.len()) {
            return Err(EngineError::MalformedPage("a row's length differs from the column count".into()));
        }
        self.key_back(prepared).await?;
        let same = page.columns.len() == prepared.columns.len()
            && page.columns.iter().zip(&prepared.columns).all(|(c, p)| &c.name == p);
        let own;
        let plan = if same {
            &prepared.plan
        } else {
            own = ImportPlan::build(&prepared.schema, page, prepared.strategy)?;
            &own
        };
        match &self.db {
            Db::Postgres(pool) => postgres::import::import(pool, plan, page, checkpoint).await,
            Db::Sqlite(pool) => sqlite::import::import(pool, plan, page, checkpoint).await,
        }
    }

    /// Writes a binary COPY page into a table prepared with [`Tables::prepare_import`] (binary COPY pages
    /// accepted), with the checkpoint in its transaction. `Ok(None)`: PostgreSQL refused the bytes or a row;
    /// nothing was written. While the prepared import has the table's primary key off, the page goes straight
    /// into the table; a refused one brings the key back, for the ordinary pages that redo its rows.
    pub async fn import_prepared_copy(
        &self,
        prepared: &PreparedImport,
        data: &[u8],
        rows: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<ImportResult>, EngineError> {
        match &prepared.copy {
            Ok(plan) => {
                let Db::Postgres(pool) = &self.db else { return Ok(None) };
                // Read, not held: pages may go in side by side; a key that comes back meanwhile makes a page
                // with a key already there fail (and be redone), never land twice. A key found back on (another
                // transfer into the table, or its constraints after the data, put it back) ends the key-off
                // state: pages are probed again, as into any table with its key.
                let key_off = {
                    let mut add = prepared.key_off.add.lock().await;
                    if add.is_some()
                        && crate::create::has_primary_key(&mut *pool.acquire().await?, &plan.table_sql).await?
                    {
                        tracing::debug!(table = %prepared.schema.name, "primary key found back on");
                        *add = None;
                    }
                    add.is_some()
                };
                let imported =
                    postgres::import::import_binary_copy_keyed(pool, plan, data, rows, checkpoint, key_off).await?;
                if imported.is_none() {
                    self.key_back(prepared).await?;
                }
                Ok(imported)
            }
            Err(why) => Err(EngineError::BadRequest(format!(
                "binary COPY pages cannot go into {:?}: {why}",
                prepared.schema.name
            ))),
        }
    }

    /// The page as PostgreSQL binary COPY bytes, for a PostgreSQL receiver whose table matches (see
    /// [`Tables::prepare_binary_copy`]). Refused on SQLite, for tables without a key, or keys of other types.
    pub async fn export_binary_copy(
        &self,
        name: &str,
        request: &PageRequest,
    ) -> Result<postgres::export::BinaryCopyPage, EngineError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(EngineError::BadRequest("binary COPY pages come only from a PostgreSQL sender".into()));
        };
        let t = self.resolve(name).await?;
        let schema = self.schema_of(&t).await?;
        postgres::export::export_binary_copy(pool, &schema, request).await
    }

    /// [`Tables::export_binary_copy`] with a schema this instance gave out earlier ([`Tables::get_schema`]) for
    /// the same table: a walk reads the catalog once, not once per page. A table dropped or changed since makes
    /// the COPY fail with PostgreSQL's reason.
    pub async fn export_binary_copy_with(
        &self,
        schema: &TableSchema,
        request: &PageRequest,
    ) -> Result<postgres::export::BinaryCopyPage, EngineError> {
        let Db::Postgres(pool) = &self.db else {
            return Err(EngineError::BadRequest("binary COPY pages come only from a PostgreSQL sender".into()));
        };
        postgres::export::export_binary_copy(pool, schema, request).await
    }

    /// Prepares table `name` to take a PostgreSQL sender's binary COPY pages of its table `sender`, once per
    /// table: the plan when every sender column lands in a column of exactly the same type in the same order
    /// (binary COPY carries each type's own binary form), else why not (the caller uses ordinary pages).
    pub async fn prepare_binary_copy(
        &self,
        name: &str,
        sender: &TableSchema,
        strategy: Strategy,
    ) -> Result<Result<ImportPlan, String>, EngineError> {
        if !matches!(self.db, Db::Postgres(_)) {
            return Ok(Err("this database is not PostgreSQL".into()));
        }
        let t = self.resolve(name).await?;
        let schema = self.schema_of(&t).await?;
        let columns = sender
            .columns
            .iter()
            .map(|c| protocol::page::PageColumn {
                name: c.name.clone(),
                kind: c.kind,
                source_type: c.data_type.clone(),
            })
            .collect();
        let plan = ImportPlan::build(&schema, &Page { columns, rows: Vec::new() }, strategy)?;
        Ok(binary_copy_fit(&self.db, &plan, sender).map(|()| plan))
    }

    /// Imports one binary COPY page with a plan from [`Tables::prepare_binary_copy`], with the job's checkpoint
    /// in the same transaction. `Ok(None)`: PostgreSQL refused the bytes or a row; nothing was written.
    pub async fn import_binary_copy(
        &self,
        plan: &ImportPlan,
        data: &[u8],
        rows: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<ImportResult>, EngineError> {
        match &self.db {
            Db::Postgres(pool) => postgres::import::import_binary_copy(pool, plan, data, rows, checkpoint).await,
            Db::Sqlite(_) => Ok(None),
        }
    }
}

/// A table prepared to take a sender's pages ([`Tables::prepare_import`]): the plan every page of the walk uses.
#[derive(Debug, Clone)]
pub struct PreparedImport {
    /// This side's schema of the table (located: schema-qualified on PostgreSQL).
    pub schema: TableSchema,
    /// The page columns the plan is for (the sender's columns, in its order).
    columns: Vec<String>,
    plan: ImportPlan,
    /// The plan for binary COPY pages, or why they cannot go in as they are.
    pub copy: Result<ImportPlan, String>,
    strategy: Strategy,
    /// The table's primary key, when this prepared import took it off for the rows' sake.
    key_off: std::sync::Arc<KeyOff>,
}

impl PreparedImport {
    /// Whether this prepared import took the table's primary key off for the rows' sake (see
    /// [`Tables::prepare_import`]) and no page of it has needed the key back since (the constraints after the
    /// data add it back without telling it).
    pub async fn key_deferred(&self) -> bool {
        self.key_off.add.lock().await.is_some()
    }
}

/// A primary key a prepared import took off. Shared by every clone of the prepared table (the server keeps one
/// behind an `Arc` and may import two of its pages at once), so the first page that needs the key adds it back,
/// once, and every later page sees that it is back.
#[derive(Debug)]
struct KeyOff {
    /// The statement that adds the key back while it is off; `None` once it is back, or when it never came off.
    add: futures_util::lock::Mutex<Option<String>>,
}

/// Whether binary COPY pages of the sender's table `sender` can go as they are into the table `plan` writes: this
/// database is PostgreSQL and every sender column lands in a column of exactly the same type, in the same order
/// (binary COPY carries each type's own binary form). `Err`: why not.
fn binary_copy_fit(db: &Db, plan: &ImportPlan, sender: &TableSchema) -> Result<(), String> {
    if !matches!(db, Db::Postgres(_)) {
        return Err("this database is not PostgreSQL".into());
    }
    if plan.columns.len() != sender.columns.len() {
        return Err("not every sender column is written here".into());
    }
    for (i, (planned, theirs)) in plan.columns.iter().zip(&sender.columns).enumerate() {
        if planned.page_index != i || planned.name != theirs.name {
            return Err("the columns are in another order here".into());
        }
        if planned.data_type != theirs.data_type {
            return Err(format!(
                "column {:?} is {} here, {} on the sender",
                theirs.name, planned.data_type, theirs.data_type
            ));
        }
        if planned.identity_always {
            return Err(format!("column {:?} is GENERATED ALWAYS here", theirs.name));
        }
    }
    Ok(())
}
