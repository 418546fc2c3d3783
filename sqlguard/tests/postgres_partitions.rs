//! Partitioned tables: keys (pg_get_partkeydef) and bounds (pg_get_expr of relpartbound) go through sqlguard,
//! a copy of each tree is made from the re-rendered texts, and the copy reads back the same; rows are routed to
//! the same partitions. Hostile keys and bounds are refused by name.

use sqlguard::{BoundValue, PartitionBound, partition_bound, partition_key};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

mod common;
use common::Database;

const FIXTURE: &str = r#"
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, v integer) PARTITION BY RANGE (at, v);
CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (MINVALUE, MINVALUE) TO ('2020-01-01', 0);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01', 0) TO ('2021-01-01', MAXVALUE);
CREATE TABLE events_rest PARTITION OF events DEFAULT;
CREATE TABLE kinds (kind text, n integer) PARTITION BY LIST (lower(kind));
CREATE TABLE kinds_ab PARTITION OF kinds FOR VALUES IN ('a', 'b');
CREATE TABLE kinds_null PARTITION OF kinds FOR VALUES IN (NULL);
CREATE TABLE hashed (id bigint, name text) PARTITION BY HASH (id);
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (modulus 2, remainder 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (modulus 2, remainder 1);
CREATE TABLE texts (name text, n integer) PARTITION BY RANGE (name COLLATE "C" text_pattern_ops, (n + 1));
CREATE TABLE texts_a PARTITION OF texts FOR VALUES FROM ('a', '-5') TO ('m', 10);
"#;

async fn key_of(conn: &mut PgConnection, table: &str) -> String {
    sqlx::query_scalar("SELECT pg_get_partkeydef($1::regclass)").bind(table).fetch_one(&mut *conn).await.unwrap()
}

/// Each partition of `parent` with its bound text, by name.
async fn partitions(conn: &mut PgConnection, parent: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $1::regclass ORDER BY c.relname",
    )
    .bind(parent)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn partitioned_tables_recreated_from_validated_texts_read_back_the_same() {
    let (_db, mut conn) = Database::create().await;
    sqlx::raw_sql(FIXTURE).execute(&mut conn).await.unwrap();
    let columns = [
        ("events", "id bigint NOT NULL, at date NOT NULL, v integer"),
        ("kinds", "kind text, n integer"),
        ("hashed", "id bigint, name text"),
        ("texts", "name text, n integer"),
    ];
    let mut total = 0;
    for (parent, cols) in columns {
        let key_text = key_of(&mut conn, parent).await;
        let key = partition_key(&key_text).unwrap_or_else(|r| panic!("{key_text}: {r}"));
        let sql = format!("CREATE TABLE copy_{parent} ({cols}) PARTITION BY {key}");
        conn.execute(AssertSqlSafe(sql.clone())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(key_of(&mut conn, &format!("copy_{parent}")).await, key_text);
        let parts = partitions(&mut conn, parent).await;
        for (name, bound_text) in &parts {
            let bound = partition_bound(bound_text).unwrap_or_else(|r| panic!("{bound_text}: {r}"));
            let sql = format!("CREATE TABLE copy_{name} PARTITION OF copy_{parent} {bound}");
            conn.execute(AssertSqlSafe(sql.clone())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let expected: Vec<(String, String)> = parts.iter().map(|(n, b)| (format!("copy_{n}"), b.clone())).collect();
        assert_eq!(partitions(&mut conn, &format!("copy_{parent}")).await, expected);
        total += parts.len();
    }
    assert_eq!(total, 8);
    // Rows go where they went on the original.
    sqlx::raw_sql(
        "INSERT INTO events VALUES (1, '2019-05-05', 1), (2, '2020-05-05', 3), (3, '2030-01-01', 0);
         INSERT INTO copy_events VALUES (1, '2019-05-05', 1), (2, '2020-05-05', 3), (3, '2030-01-01', 0);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let routed: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, id FROM events UNION ALL SELECT tableoid::regclass::text, id FROM copy_events ORDER BY 2, 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        routed,
        [
            ("copy_events_old".to_string(), 1),
            ("events_old".to_string(), 1),
            ("copy_events_2020".to_string(), 2),
            ("events_2020".to_string(), 2),
            ("copy_events_rest".to_string(), 3),
            ("events_rest".to_string(), 3),
        ]
    );
}

#[test]
fn hostile_partition_texts_are_refused_by_name() {
    let key = |t: &str| partition_key(t).unwrap_err().to_string();
    let bound = |t: &str| partition_bound(t).unwrap_err().to_string();
    assert_eq!(key("RANGE (pg_sleep(1))"), "function pg_sleep is not allowed");
    assert_eq!(key("LIST ((a + (SELECT 1)))"), "subqueries are not allowed");
    assert_eq!(key("HASH (id); DROP TABLE t"), "more than one statement (`;`) is not allowed");
    assert_eq!(key("RANGE (a DESC)"), "ASC/DESC/NULLS in a partition key is not allowed");
    assert_eq!(key("TREE (a)"), "cannot parse the partition key: expected RANGE, LIST or HASH, found TREE");
    assert_eq!(bound("FOR VALUES IN (pg_sleep(1))"), "function pg_sleep is not allowed");
    assert_eq!(bound("FOR VALUES FROM (a) TO (1)"), "the column reference a in a partition bound is not allowed");
    assert_eq!(bound("FOR VALUES FROM (1) TO (2) -- x"), "comments are not allowed");
    assert_eq!(
        bound("FOR VALUES WITH (modulus 4, remainder x)"),
        "cannot parse the partition bound: expected a number after remainder, found x"
    );
    assert_eq!(
        partition_bound("FOR VALUES FROM (MINVALUE, '-5') TO ('2020-01-01', MAXVALUE)").unwrap(),
        PartitionBound::Range {
            from: vec![
                BoundValue::MinValue,
                BoundValue::Value(sqlguard::expression(sqlguard::Dialect::Postgres, "'-5'").unwrap())
            ],
            to: vec![
                BoundValue::Value(sqlguard::expression(sqlguard::Dialect::Postgres, "'2020-01-01'").unwrap()),
                BoundValue::MaxValue
            ],
        }
    );
}
