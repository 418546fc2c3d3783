//! An index whose name some other relation holds here: `CREATE INDEX IF NOT EXISTS` would skip it with only a
//! server NOTICE, so the constraints after the data name it in the notes instead, make the table's other
//! indexes, and leave what holds the name untouched. An index the table has already (the step run twice) is kept
//! without a note. PostgreSQL and SQLite, each to itself.

mod common;

use appdata::testing::TestDb;
use common::*;
use engine::EngineKind;

#[tokio::test]
async fn an_index_name_another_relation_holds_is_named_in_the_notes() {
    for kind in [EngineKind::Postgres, EngineKind::Sqlite] {
        let (source, target) = (TestDb::new(kind).await, TestDb::new(kind).await);
        exec(
            &source.db,
            "CREATE TABLE things (id INTEGER PRIMARY KEY, v INTEGER, w INTEGER);
             CREATE INDEX things_v ON things (v);
             CREATE INDEX things_w ON things (w);
             INSERT INTO things VALUES (1, 10, 100), (2, 20, 200), (3, 30, 300);",
        )
        .await;
        // Here the first index's name is a table's, with a row of its own.
        exec(&target.db, "CREATE TABLE things_v (x INTEGER); INSERT INTO things_v VALUES (42);").await;
        let (from, to) = (tables(&source.db), tables(&target.db));
        let schema = from.get_schema("things").await.unwrap();
        to.create_table(&schema).await.unwrap();
        let (rows, errors) = copy_pages(&from, &to, "things", 2).await;
        assert_eq!((rows, errors.len()), (3, 0), "{kind:?}");
        let notes = to.create_constraints_after_data(&schema).await.unwrap().notes;
        assert_eq!(
            notes,
            [r#"index "things_v" not recreated: the name is taken here by table "things_v""#],
            "{kind:?}"
        );
        let indexes: Vec<String> = to.get_schema("things").await.unwrap().indexes.into_iter().map(|i| i.name).collect();
        assert_eq!(indexes, ["things_w"], "{kind:?}: the other index is made");
        assert_eq!(all_rows(&to, "things_v").await, [vec![int(42)]], "{kind:?}: what holds the name is untouched");
        assert_eq!(all_rows(&to, "things").await, all_rows(&from, "things").await, "{kind:?}");

        // The step again, as a job that stopped before it finished would run it: the table's own index is kept
        // without a note; the clash is named again.
        exec(&target.db, "INSERT INTO dbt_pending_constraints (table_name, since) VALUES ('things', 0)").await;
        let again = to.create_constraints_after_data(&schema).await.unwrap().notes;
        assert_eq!(again, notes, "{kind:?}");
    }
}
