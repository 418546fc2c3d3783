//! Transfer history: counts added page by page, one end, only by the admin who started it.

use appdata::history::{Channel, TableStrategy, add_page, begin, finish, list};
use appdata::testing::{ENGINES, TestDb};
use protocol::{ImportResult, Strategy};

#[tokio::test]
async fn a_transfer_is_recorded_page_by_page_and_ends_once() {
    for kind in ENGINES {
        let t = TestDb::new(kind).await;
        let tables = [TableStrategy { table: "users".into(), strategy: Strategy::Overwrite }];
        let id = begin(&t.db, "alice", Channel::Browser, "https://a.example", &tables).await.unwrap();
        let page = ImportResult { created: 3, updated: 2, skipped: 1, ..ImportResult::default() };
        assert!(add_page(&t.db, id, "alice", 6, &page).await.unwrap());
        assert!(add_page(&t.db, id, "alice", 6, &page).await.unwrap());
        assert!(!add_page(&t.db, id, "mallory", 6, &page).await.unwrap(), "another admin's transfer");
        assert!(finish(&t.db, id, "alice", protocol::history::Outcome::Cancelled, Some("by the admin")).await.unwrap());
        assert!(!finish(&t.db, id, "alice", protocol::history::Outcome::Finished, None).await.unwrap(), "ends once");
        assert!(!add_page(&t.db, id, "alice", 6, &page).await.unwrap(), "no pages after the end");
        let listed = list(&t.db, 10).await.unwrap();
        assert_eq!(listed.len(), 1, "{kind:?}");
        let r = &listed[0];
        assert_eq!((r.rows, r.created, r.updated, r.skipped, r.errors), (12, 6, 4, 2, 0));
        assert_eq!(
            (r.channel.as_str(), r.outcome.as_str(), r.message.as_deref()),
            ("browser", "cancelled", Some("by the admin"))
        );
        assert_eq!(r.tables, tables);
        assert!(r.finished_at.is_some());
    }
}
