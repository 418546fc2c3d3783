//! Tables and schemas from PostgreSQL's catalogs. Names come back from the catalog and are only ever bound as
//! parameters or quoted, never spliced.

use sqlx::{PgPool, Row};

use crate::error::EngineError;
use protocol::ident::quote;
use protocol::schema::{
    CheckConstraint, Column, ConstraintOptions, ForeignKey, Identity, Index, LocalTable, Partition, Sequence,
    TableInfo, TableSchema, UniqueConstraint,
};
use protocol::value::ValueKind;

/// Ordinary and partitioned tables of the current schema (partitions are reached through their parent).
pub async fn list_tables(pool: &PgPool) -> Result<Vec<TableInfo>, EngineError> {
    let rows = sqlx::query(
        "SELECT c.relname::text AS name, c.reltuples::int8 AS rows
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         ORDER BY c.relname",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| TableInfo { name: r.get("name"), rows: r.get("rows"), rows_exact: false }).collect())
}

/// A table of the current schema as the catalog has it: its oid, its schema's name and whether it is
/// partitioned.
#[derive(Debug, Clone)]
pub struct Found {
    pub oid: i64,
    pub local: LocalTable,
}

/// The table in the current schema, if it exists and is one [`list_tables`] offers: partitions are reached
/// through their parent only, so one is never found (or transferred, or created over) by its own name.
pub async fn find_table(pool: &PgPool, table: &str) -> Result<Option<Found>, EngineError> {
    let row = sqlx::query(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS namespace, c.relkind = 'p' AS partitioned
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname = $1",
    )
    .bind(table)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Found {
        oid: r.get("oid"),
        local: LocalTable { namespace: r.get("namespace"), partitioned: r.get("partitioned") },
    }))
}

/// The schema (namespace) new tables and types go into: `current_schema()`, refused when `search_path` names
/// no existing schema (PostgreSQL would otherwise fail later with a less helpful error).
pub async fn current_namespace(conn: impl sqlx::PgExecutor<'_>) -> Result<String, EngineError> {
    let ns: Option<String> = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(conn).await?;
    ns.ok_or_else(|| EngineError::BadRequest("this database's search_path names no existing schema".into()))
}

/// `"namespace"."table"`: how every statement names a table on PostgreSQL, so nothing is looked up through
/// `search_path` (which searches `pg_catalog` and `pg_temp` first).
pub fn qualified(namespace: &str, table: &str) -> String {
    format!("{}.{}", quote(namespace), quote(table))
}

/// The qualified name of a table this side's inspector described; refused for a schema that came from
/// elsewhere (a sender's schema carries no location).
pub fn table_sql(schema: &TableSchema) -> Result<String, EngineError> {
    let local = schema.local.as_ref().ok_or_else(|| {
        EngineError::Internal(format!(
            "table {:?}: a schema without its local location reached PostgreSQL SQL",
            schema.name
        ))
    })?;
    Ok(qualified(&local.namespace, &schema.name))
}

/// What a statement reads the table's own rows from: `ONLY "ns"."t"` for an ordinary table, so rows of tables
/// that inherit from it (each listed and transferred as a table of its own) are neither counted nor sent twice,
/// nor share `ctid`s with its own rows in a walk; a partitioned table holds no rows itself, so its partitions'
/// are read through it.
pub fn rows_sql(schema: &TableSchema) -> Result<String, EngineError> {
    let partitioned = schema.local.as_ref().is_some_and(|l| l.partitioned);
    Ok(format!("{}{}", if partitioned { "" } else { "ONLY " }, table_sql(schema)?))
}

/// The portable kind of a PostgreSQL base type.
pub fn kind_of(type_name: &str, category: &str) -> ValueKind {
    if category == "A" {
        return ValueKind::Array;
    }
    match type_name {
        "bool" => ValueKind::Bool,
        "int2" | "int4" | "int8" => ValueKind::Int,
        "float4" | "float8" => ValueKind::Float,
        "numeric" => ValueKind::Numeric,
        "text" | "varchar" | "bpchar" | "name" => ValueKind::Text,
        "bytea" => ValueKind::Bytes,
        "json" | "jsonb" => ValueKind::Json,
        "uuid" => ValueKind::Uuid,
        "date" => ValueKind::Date,
        "time" => ValueKind::Time,
        "timestamp" => ValueKind::Timestamp,
        "timestamptz" => ValueKind::TimestampTz,
        "interval" => ValueKind::Interval,
        _ => ValueKind::Other,
    }
}

pub async fn get_schema(pool: &PgPool, table: &str, found: &Found) -> Result<TableSchema, EngineError> {
    let oid = found.oid;
    let column_rows = sqlx::query(
        "SELECT a.attname::text AS name,
                format_type(a.atttypid, a.atttypmod) AS data_type,
                NOT a.attnotnull AS nullable,
                pg_get_expr(d.adbin, d.adrelid) AS default_expr,
                a.attidentity::text AS identity,
                a.attgenerated::text AS generated,
                t.typtype::text AS typtype,
                COALESCE(bt.typname, t.typname)::text AS base_name,
                COALESCE(bt.typcategory, t.typcategory)::text AS base_category,
                CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS domain_base,
                CASE WHEN t.typtype = 'e' THEN
                    (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
                END AS enum_labels,
                col_description(a.attrelid, a.attnum) AS comment,
                CASE WHEN a.attcollation <> t.typcollation
                     THEN (SELECT co.collname::text FROM pg_collation co WHERE co.oid = a.attcollation) END AS collation,
                sq.seq_name, sq.seq_type, sq.seqstart, sq.seqincrement, sq.seqmin, sq.seqmax, sq.seqcache, sq.seqcycle
         FROM pg_attribute a
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         -- The sequence owned by the column: a serial's (OWNED BY, deptype 'a') or an identity's ('i').
         LEFT JOIN LATERAL (
             SELECT s.relname::text AS seq_name, format_type(q.seqtypid, NULL) AS seq_type, q.seqstart,
                    q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle
             FROM pg_depend dp
             JOIN pg_class s ON s.oid = dp.objid AND s.relkind = 'S'
             JOIN pg_sequence q ON q.seqrelid = s.oid
             WHERE dp.classid = 'pg_class'::regclass AND dp.refclassid = 'pg_class'::regclass
               AND dp.refobjid = a.attrelid AND dp.refobjsubid = a.attnum AND dp.deptype IN ('a', 'i')
             ORDER BY s.oid LIMIT 1
         ) sq ON true
         WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;

    let columns = column_rows
        .into_iter()
        .map(|r| {
            let default: Option<String> = r.get("default_expr");
            let generated_flag: String = r.get("generated");
            let identity_flag: String = r.get("identity");
            let (default, generated) = if generated_flag.is_empty() { (default, None) } else { (None, default) };
            let seq_name: Option<String> = r.get("seq_name");
            let sequence = seq_name.map(|name| Sequence {
                name,
                data_type: r.get("seq_type"),
                start: r.get("seqstart"),
                increment: r.get("seqincrement"),
                min: r.get("seqmin"),
                max: r.get("seqmax"),
                cache: r.get("seqcache"),
                cycle: r.get("seqcycle"),
            });
            let identity = match identity_flag.as_str() {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ if default.as_deref().is_some_and(|d| d.starts_with("nextval(")) => Some(Identity::Serial),
                _ => None,
            };
            let base_name: String = r.get("base_name");
            let base_category: String = r.get("base_category");
            let typtype: String = r.get("typtype");
            let enum_labels: Option<Vec<String>> = r.get("enum_labels");
            let kind = if typtype == "e" { ValueKind::Other } else { kind_of(&base_name, &base_category) };
            Column {
                name: r.get("name"),
                data_type: r.get("data_type"),
                kind,
                nullable: r.get("nullable"),
                default,
                identity,
                generated,
                enum_labels: enum_labels.unwrap_or_default(),
                domain_base: r.get("domain_base"),
                sequence,
                comment: r.get("comment"),
                collation: r.get("collation"),
            }
        })
        .collect();

    // Columns of each constraint / index, in key order (a key's INCLUDE columns are no key columns).
    let primary_key: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text
         FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = $1::int8::oid AND i.indisprimary AND k.ord <= i.indnkeyatts
         ORDER BY k.ord",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;

    let unique_constraints = sqlx::query(
        "SELECT con.conname::text AS name,
                array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_constraint con
         CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
         WHERE con.conrelid = $1::int8::oid AND con.contype = 'u'
         GROUP BY con.conname ORDER BY con.conname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| UniqueConstraint { name: r.get("name"), columns: r.get("columns") })
    .collect();

    let foreign_keys = sqlx::query(
        "SELECT con.conname::text AS name,
                (SELECT array_agg(a.attname::text ORDER BY k.ord)
                   FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
                rc.relname::text AS ref_table,
                (SELECT array_agg(a.attname::text ORDER BY k.ord)
                   FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns,
                con.confupdtype::text AS on_update,
                con.confdeltype::text AS on_delete
         FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid
         WHERE con.conrelid = $1::int8::oid AND con.contype = 'f'
         ORDER BY con.conname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        let action = |code: String| {
            match code.as_str() {
                "c" => "CASCADE",
                "n" => "SET NULL",
                "d" => "SET DEFAULT",
                "r" => "RESTRICT",
                _ => "NO ACTION",
            }
            .to_owned()
        };
        ForeignKey {
            name: r.get("name"),
            columns: r.get("columns"),
            ref_table: r.get("ref_table"),
            ref_columns: r.get("ref_columns"),
            on_update: action(r.get("on_update")),
            on_delete: action(r.get("on_delete")),
        }
    })
    .collect();

    let indexes = sqlx::query(
        "SELECT ic.relname::text AS name, i.indisunique AS unique, pg_get_indexdef(i.indexrelid) AS definition,
                COALESCE((SELECT array_agg(a.attname::text ORDER BY k.ord)
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), '{}') AS columns
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = $1::int8::oid AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
         ORDER BY ic.relname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Index {
        name: r.get("name"),
        columns: r.get("columns"),
        unique: r.get("unique"),
        definition: r.get("definition"),
    })
    .collect();

    let checks = sqlx::query(
        "SELECT conname::text AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
         WHERE conrelid = $1::int8::oid AND contype IN ('c', 'x') AND conislocal ORDER BY conname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| CheckConstraint { name: r.get("name"), definition: r.get("definition") })
    .collect();

    let mut primary_key_name = None;
    let mut constraint_options = Vec::new();
    let rows = sqlx::query(
        "SELECT con.conname::text AS name, con.contype::text AS kind, con.condeferrable AS deferrable,
                con.condeferred AS initially_deferred,
                con.contype = 'u' AND pg_get_constraintdef(con.oid) LIKE 'UNIQUE NULLS NOT DISTINCT%' AS nnd,
                COALESCE((SELECT array_agg(a.attname::text ORDER BY k.ord)
                   FROM pg_index i
                   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE i.indexrelid = con.conindid AND con.contype IN ('p', 'u') AND k.ord > i.indnkeyatts),
                   '{}') AS include
         FROM pg_constraint con
         WHERE con.conrelid = $1::int8::oid AND con.contype IN ('p', 'u', 'f') ORDER BY con.conname",
    )
    .bind(oid)
    .fetch_all(pool)
    .await?;
    for r in rows {
        let name: String = r.get("name");
        if r.get::<String, _>("kind") == "p" {
            primary_key_name = Some(name.clone());
        }
        let options = ConstraintOptions {
            name,
            deferrable: r.get("deferrable"),
            initially_deferred: r.get("initially_deferred"),
            nulls_not_distinct: r.get("nnd"),
            include: r.get("include"),
        };
        if options != (ConstraintOptions { name: options.name.clone(), ..ConstraintOptions::default() }) {
            constraint_options.push(options);
        }
    }

    let (comment, partition_key, storage, unlogged): (Option<String>, Option<String>, Vec<String>, bool) =
        sqlx::query_as(
            "SELECT obj_description($1::int8::oid, 'pg_class'),
                    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                    COALESCE(c.reloptions, '{}')::text[]
                        || COALESCE((SELECT array_agg('toast.' || o) FROM pg_class t, unnest(t.reloptions) o
                                     WHERE t.oid = c.reltoastrelid), '{}')::text[],
                    relpersistence = 'u'
             FROM pg_class c WHERE c.oid = $1::int8::oid",
        )
        .bind(oid)
        .fetch_one(pool)
        .await?;

    // Every level of partitions, parents first (a partition's own partitions follow it).
    let partitions = if found.local.partitioned {
        sqlx::query(
            "WITH RECURSIVE tree AS (
                 SELECT i.inhrelid AS relid, i.inhparent AS parent, 1 AS level FROM pg_inherits i
                 WHERE i.inhparent = $1::int8::oid
                 UNION ALL
                 SELECT i.inhrelid, i.inhparent, t.level + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid
             )
             SELECT c.relname::text AS name, p.relname::text AS parent,
                    pg_get_expr(c.relpartbound, c.oid) AS bound,
                    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key
             FROM tree JOIN pg_class c ON c.oid = tree.relid JOIN pg_class p ON p.oid = tree.parent
             WHERE c.relispartition
             ORDER BY tree.level, c.relname",
        )
        .bind(oid)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Partition {
            name: r.get("name"),
            parent: r.get("parent"),
            bound: r.get("bound"),
            partition_key: r.get("partition_key"),
        })
        .collect()
    } else {
        Vec::new()
    };

    Ok(TableSchema {
        name: table.to_owned(),
        dialect: protocol::schema::Dialect::Postgres,
        columns,
        primary_key,
        unique_constraints,
        foreign_keys,
        indexes,
        checks,
        comment,
        partition_key,
        partitions,
        primary_key_name,
        constraint_options,
        storage,
        unlogged,
        definition: None,
        local: Some(found.local.clone()),
    })
}

/// Exact row count.
pub async fn count(pool: &PgPool, table: &crate::TableName, found: &Found) -> Result<i64, EngineError> {
    let only = if found.local.partitioned { "" } else { "ONLY " };
    let sql = format!("SELECT count(*) FROM {only}{}", qualified(&found.local.namespace, table.as_str()));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?)
}
