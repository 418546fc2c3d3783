//! Engine export/import rates on PostgreSQL, next to `pg_dump | psql` in the same run.
//!
//!     cargo run --release -p engine --example rates -- [ROWS]      (default 1000000; uses TEST_DATABASE_URL)
//!
//! Not the end-to-end benchmark (that is the benchmark issue's harness): this measures the library alone,
//! pages in memory, no network.

use engine::compress::PageCompression;
use std::time::Instant;

use appdata::testing::TestDb;
use engine::{Db, EngineKind, Tables};
use protocol::{Exclusions, PageRequest, Position, Strategy};

const DDL: &str = "CREATE TABLE bench (id bigint PRIMARY KEY, i int, f float8, t text, ts timestamptz, n numeric, j jsonb, b bool, u uuid, by bytea)";

async fn exec(db: &Db, sql: &str) {
    let Db::Postgres(p) = db else { unreachable!() };
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.unwrap();
}

#[tokio::main]
async fn main() {
    let rows: i64 = std::env::args().nth(1).map(|a| a.parse().expect("ROWS")).unwrap_or(1_000_000);
    let page_size = 10_000;
    let src = TestDb::new(EngineKind::Postgres).await;
    let dst = TestDb::new(EngineKind::Postgres).await;
    let base = TestDb::new(EngineKind::Postgres).await;
    for db in [&src.db, &dst.db, &base.db] {
        exec(db, DDL).await;
    }
    exec(
        &src.db,
        &format!(
            "INSERT INTO bench SELECT g, g % 1000, g / 7.0, md5(g::text)::varchar(16), '2025-01-01'::timestamptz + g * interval '1 second',
             (g * 1.25)::numeric, jsonb_build_object('g', g), g % 2 = 0, md5(g::text)::uuid, decode(lpad(to_hex(g), 8, '0'), 'hex')
             FROM generate_series(1, {rows}) g; ANALYZE bench"
        ),
    )
    .await;

    // Baseline: pg_dump --data-only | psql into a pre-created empty table.
    let name = |url: &str| url.rsplit('/').next().unwrap().to_owned();
    let started = Instant::now();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "pg_dump --data-only -t bench -h 127.0.0.1 -U postgres {} | psql -q -h 127.0.0.1 -U postgres {} >/dev/null",
            name(&src.url),
            name(&base.url)
        ))
        .status()
        .expect("pg_dump | psql");
    let baseline = started.elapsed().as_secs_f64();
    assert!(status.success());

    let (from, to) =
        (Tables::new(src.db.clone(), Exclusions::default()), Tables::new(dst.db.clone(), Exclusions::default()));
    let mut pages = Vec::new();
    let started = Instant::now();
    let mut req = PageRequest::first(page_size);
    loop {
        let p = from.export_records("bench", &req).await.unwrap();
        pages.push(p.page.compress());
        match p.next {
            Some(c) => req.position = Position::After(c),
            None => break,
        }
    }
    let export = started.elapsed().as_secs_f64();
    let bytes: usize = pages.iter().map(|p| p.len()).sum();

    let import = |label: &'static str, strategy: Strategy| {
        let (to, pages) = (to.clone(), pages.clone());
        async move {
            let started = Instant::now();
            let (mut created, mut updated, mut skipped) = (0, 0, 0);
            for bytes in &pages {
                let page = protocol::Page::decompress(bytes).unwrap();
                let r = to.import_records("bench", &page, strategy).await.unwrap();
                assert!(r.errors.is_empty(), "{:?}", &r.errors[..1]);
                (created, updated, skipped) = (created + r.created, updated + r.updated, skipped + r.skipped);
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{label:<34} {:>9.0} rows/s  {:>6.2} s  (created {created}, updated {updated}, skipped {skipped})",
                rows as f64 / secs,
                secs
            );
        }
    };
    println!("rows: {rows}, page size {page_size}, compressed pages {:.1} MB", bytes as f64 / 1e6);
    println!("{:<34} {:>9.0} rows/s  {:>6.2} s", "baseline pg_dump | psql", rows as f64 / baseline, baseline);
    println!("{:<34} {:>9.0} rows/s  {:>6.2} s", "export (keyset pages, compressed)", rows as f64 / export, export);
    import("import skip, empty table", Strategy::Skip).await;
    import("import skip, full table", Strategy::Skip).await;
    import("import overwrite, full table", Strategy::Overwrite).await;
    import("import merge, full table", Strategy::Merge).await;

    // PostgreSQL pages into SQLite (the embedded default), then exported back out of SQLite.
    let lite = TestDb::new(EngineKind::Sqlite).await;
    let lite_tables = Tables::new(lite.db.clone(), Exclusions::default());
    lite_tables.create_table(&from.get_schema("bench").await.unwrap()).await.unwrap();
    let started = Instant::now();
    for bytes in &pages {
        let r = lite_tables
            .import_records("bench", &protocol::Page::decompress(bytes).unwrap(), Strategy::Skip)
            .await
            .unwrap();
        assert!(r.errors.is_empty());
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{:<34} {:>9.0} rows/s  {:>6.2} s", "SQLite import skip, empty table", rows as f64 / secs, secs);
    let started = Instant::now();
    let mut req = PageRequest::first(page_size);
    loop {
        let p = lite_tables.export_records("bench", &req).await.unwrap();
        std::hint::black_box(p.page.compress());
        match p.next {
            Some(c) => req.position = Position::After(c),
            None => break,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{:<34} {:>9.0} rows/s  {:>6.2} s", "SQLite export (compressed)", rows as f64 / secs, secs);

    // PostgreSQL → PostgreSQL binary COPY pages: what each side costs, page size by page size.
    let schema = from.get_schema("bench").await.unwrap();
    for (page_size, async_commit) in [(5_000u32, false), (5_000, true), (20_000, false)] {
        let to = if async_commit {
            exec(&dst.db, &format!("ALTER DATABASE \"{}\" SET synchronous_commit = off", name(&dst.url))).await;
            Tables::new(Db::connect(&dst.url).await.unwrap(), Exclusions::default())
        } else {
            to.clone()
        };
        let started = Instant::now();
        let mut copy_pages = Vec::new();
        let mut req = PageRequest::first(page_size);
        loop {
            let p = from.export_binary_copy("bench", &req).await.unwrap();
            copy_pages.push((engine::compress::compress_bytes(&p.data), p.rows));
            match p.next {
                Some(c) => req.position = Position::After(c),
                None => break,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let bytes: usize = copy_pages.iter().map(|p| p.0.len()).sum();
        println!(
            "{:<34} {:>9.0} rows/s  {:>6.2} s  ({:.1} MB compressed)",
            format!("binary COPY export, pages of {page_size}"),
            rows as f64 / secs,
            secs,
            bytes as f64 / 1e6
        );
        exec(&dst.db, "TRUNCATE bench").await;
        for (label, strategy) in
            [("empty, skip", Strategy::Skip), ("full, skip", Strategy::Skip), ("full, overwrite", Strategy::Overwrite)]
        {
            let plan = to.prepare_binary_copy("bench", &schema, strategy).await.unwrap().unwrap();
            let started = Instant::now();
            for (bytes, n) in &copy_pages {
                let data = engine::compress::decompress_bytes(bytes).unwrap();
                to.import_binary_copy(&plan, &data, *n, None).await.unwrap().expect("imported");
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{:<34} {:>9.0} rows/s  {:>6.2} s",
                format!("binary COPY import {label}{}", if async_commit { " (async commit)" } else { "" }),
                rows as f64 / secs,
                secs
            );
        }
    }
}
