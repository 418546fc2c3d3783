//! Tables and schemas from SQLite's `pragma_*` table-valued functions, with names bound as parameters.

use sqlx::{Row, SqlitePool};

use crate::error::EngineError;
use protocol::ident::quote;
use protocol::schema::{Column, ForeignKey, Identity, Index, TableInfo, TableSchema, UniqueConstraint};
use protocol::value::ValueKind;

pub async fn table_names(pool: &SqlitePool) -> Result<Vec<String>, EngineError> {
    Ok(sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").fetch_all(pool).await?)
}

/// Every table with its exact row count (SQLite keeps no estimate worth showing).
pub async fn list_tables(pool: &SqlitePool, names: Vec<String>) -> Result<Vec<TableInfo>, EngineError> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(&name))))
            .fetch_one(pool)
            .await?;
        out.push(TableInfo { name, rows, rows_exact: true });
    }
    Ok(out)
}

/// The kind of a declared SQLite type, by SQLite's affinity rules refined by common type names.
pub fn kind_of(declared: &str) -> ValueKind {
    let t = declared.to_ascii_uppercase();
    if t.contains("BOOL") {
        ValueKind::Bool
    } else if t.contains("INT") {
        ValueKind::Int
    } else if t.contains("TIMESTAMPTZ") || t.contains("WITH TIME ZONE") {
        ValueKind::TimestampTz
    } else if t.contains("TIMESTAMP") || t.contains("DATETIME") {
        ValueKind::Timestamp
    } else if t.contains("DATE") {
        ValueKind::Date
    } else if t.contains("TIME") {
        ValueKind::Time
    } else if t.contains("JSON") {
        ValueKind::Json
    } else if t.contains("UUID") {
        ValueKind::Uuid
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        ValueKind::Text
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        ValueKind::Bytes
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ValueKind::Float
    } else if t.contains("NUMERIC") || t.contains("DECIMAL") {
        ValueKind::Numeric
    } else {
        ValueKind::Other
    }
}

pub async fn get_schema(pool: &SqlitePool, table: &str) -> Result<TableSchema, EngineError> {
    let rows = sqlx::query(
        "SELECT name, type, \"notnull\" AS not_null, dflt_value, pk, hidden FROM pragma_table_xinfo($1) ORDER BY cid",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    let sql: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = $1")
        .bind(table)
        .fetch_optional(pool)
        .await?
        .flatten();
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut columns = Vec::with_capacity(rows.len());
    for r in &rows {
        let name: String = r.get("name");
        let declared: String = r.get("type");
        let hidden: i64 = r.get("hidden");
        let pk_pos: i64 = r.get("pk");
        if pk_pos > 0 {
            pk.push((pk_pos, name.clone()));
        }
        columns.push(Column {
            kind: kind_of(&declared),
            data_type: declared,
            nullable: r.get::<i64, _>("not_null") == 0,
            default: r.get("dflt_value"),
            identity: None,
            // 2 = virtual, 3 = stored generated column; the expression lives in the CREATE TABLE text.
            generated: matches!(hidden, 2 | 3).then(|| "generated".to_owned()),
            enum_labels: Vec::new(),
            domain_base: None,
            sequence: None,
            comment: None,
            collation: None,
            name,
        });
    }
    pk.sort();
    let primary_key: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
    // `INTEGER PRIMARY KEY` is the rowid: SQLite generates it (AUTOINCREMENT or not).
    let without_rowid = sql.as_deref().is_some_and(|s| s.to_ascii_uppercase().contains("WITHOUT ROWID"));
    if let [only] = primary_key.as_slice()
        && let Some(c) = columns.iter_mut().find(|c| &c.name == only)
        && c.data_type.eq_ignore_ascii_case("INTEGER")
        && !without_rowid
    {
        c.identity = Some(Identity::Serial);
        c.nullable = false;
    }
    // A WITHOUT ROWID table's primary key is NOT NULL whether declared so or not (a rowid table's other
    // primary keys may hold NULLs: SQLite's documented quirk, so those tables are walked by rowid).
    if without_rowid {
        for c in columns.iter_mut().filter(|c| primary_key.contains(&c.name)) {
            c.nullable = false;
        }
    }

    let index_rows =
        sqlx::query("SELECT name, \"unique\" AS is_unique, origin FROM pragma_index_list($1) ORDER BY name")
            .bind(table)
            .fetch_all(pool)
            .await?;
    let mut unique_constraints = Vec::new();
    let mut indexes = Vec::new();
    for r in index_rows {
        let name: String = r.get("name");
        let origin: String = r.get("origin");
        let cols: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
            .bind(&name)
            .fetch_all(pool)
            .await?;
        let cols: Vec<String> = cols.into_iter().flatten().collect();
        match origin.as_str() {
            "u" => unique_constraints.push(UniqueConstraint { name, columns: cols }),
            "c" => {
                let definition: Option<String> =
                    sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = $1")
                        .bind(&name)
                        .fetch_optional(pool)
                        .await?
                        .flatten();
                indexes.push(Index {
                    name,
                    columns: cols,
                    unique: r.get::<i64, _>("is_unique") == 1,
                    definition: definition.unwrap_or_default(),
                });
            }
            _ => {} // "pk": the primary key itself
        }
    }

    let fk_rows = sqlx::query(
        "SELECT id, seq, \"table\" AS ref_table, \"from\" AS col, \"to\" AS ref_col, on_update, on_delete
         FROM pragma_foreign_key_list($1) ORDER BY id, seq",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    let mut foreign_keys: Vec<(i64, ForeignKey)> = Vec::new();
    for r in fk_rows {
        let id: i64 = r.get("id");
        let col: String = r.get("col");
        let ref_col: Option<String> = r.get("ref_col");
        if foreign_keys.last().is_none_or(|(last, _)| *last != id) {
            foreign_keys.push((
                id,
                ForeignKey {
                    name: format!("{table}_fk_{id}"),
                    columns: Vec::new(),
                    ref_table: r.get("ref_table"),
                    ref_columns: Vec::new(),
                    on_update: r.get("on_update"),
                    on_delete: r.get("on_delete"),
                },
            ));
        }
        let fk = &mut foreign_keys.last_mut().unwrap().1;
        fk.columns.push(col);
        // A NULL target column means "the referenced table's primary key".
        fk.ref_columns.push(ref_col.unwrap_or_default());
    }
    Ok(TableSchema {
        name: table.to_owned(),
        dialect: protocol::schema::Dialect::Sqlite,
        columns,
        primary_key,
        unique_constraints,
        foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        indexes,
        definition: sql,
        ..TableSchema::default()
    })
}

pub async fn count(pool: &SqlitePool, table: &crate::TableName) -> Result<i64, EngineError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", table.quoted())))
        .fetch_one(pool)
        .await?)
}
