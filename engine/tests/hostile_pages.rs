//! Pages and binary COPY streams crafted by a hostile sender: each is refused with an error naming what was
//! wrong, before it can make the receiver allocate more than a stated bound. Memory is measured, not guessed:
//! this test binary counts every allocation of the thread that runs a test (a counting global allocator with
//! per-thread totals, so tests running side by side do not see each other's allocations), each at the size the
//! system allocator really gave it (`malloc_usable_size` plus glibc's 8-byte header: a one-byte text is 32).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use engine::EngineError;
use engine::compress::PageCompression;
use engine::postgres::binary_copy::{self, MAX_TUPLES};
use protocol::page::{self, MAX_PAGE_BYTES, MAX_PAGE_MEMORY, MAX_PAGE_ROWS, Page, PageColumn};
use protocol::value::{Value, ValueKind};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + n);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

fn shrank(n: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(n)));
}

unsafe extern "C" {
    /// glibc: the usable size of a block `malloc` (or `posix_memalign`) returned.
    fn malloc_usable_size(ptr: *mut u8) -> usize;
}

/// What the block at `p` (live, from the system allocator) really takes: its usable size and glibc's header.
fn real_size(p: *mut u8) -> usize {
    // SAFETY: `p` is a live block of the system allocator (glibc's malloc on this target).
    unsafe { malloc_usable_size(p) + 8 }
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(real_size(p));
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(real_size(ptr));
        unsafe { System.dealloc(ptr, layout) };
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = real_size(ptr);
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(old);
            grew(real_size(p));
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` returns, and the most memory this thread held at once while it ran, beyond what it held before.
fn peak_while<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    (out, PEAK.with(Cell::get) - before)
}

const MIB: usize = 1024 * 1024;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A page's encoding as a sender could write it: `columns` int columns, the row count it claims, then `body`.
fn crafted(columns: usize, rows: u64, body: &[u8]) -> Vec<u8> {
    let mut raw = b"DBTP\x01".to_vec();
    varint(&mut raw, columns as u64);
    for i in 0..columns {
        let name = format!("c{i}");
        varint(&mut raw, name.len() as u64);
        raw.extend_from_slice(name.as_bytes());
        raw.push(ValueKind::Int.code());
        varint(&mut raw, 0);
    }
    varint(&mut raw, rows);
    raw.extend_from_slice(body);
    raw
}

/// `rows` × `columns` NULLs: one byte each on the wire, a 32-byte `Value` each in memory.
fn nulls(columns: usize, rows: usize) -> Vec<u8> {
    crafted(columns, rows as u64, &vec![0u8; rows * columns])
}

fn malformed<E: Into<EngineError>>(result: Result<Page, E>) -> String {
    match result.map_err(Into::into) {
        Err(EngineError::MalformedPage(m)) => m,
        other => panic!("expected a malformed page, got {:?}", other.map(|p| (p.columns.len(), p.rows.len()))),
    }
}

#[test]
fn a_null_bomb_is_refused_before_it_is_decoded() {
    // 12 million NULLs: 12 MB decompressed, about 10 KB on the wire, 385 MB as values.
    let (columns, rows) = (200, 60_000);
    let raw = nulls(columns, rows);
    let travelling = engine::compress::compress_bytes(&raw);
    assert!(travelling.len() < 16 * 1024, "the bomb is small: {} bytes", travelling.len());
    let cost = page::decoded_size(rows, columns);
    assert_eq!(cost, (rows * 24 + 8).div_ceil(16) * 16 + rows * (columns * 32 + 16));
    assert!(cost > MAX_PAGE_MEMORY);

    let (result, peak) = peak_while(|| Page::decompress(&travelling));
    assert_eq!(
        malformed(result),
        format!("60000 rows × 200 columns would take {cost} bytes in memory, over the limit of {MAX_PAGE_MEMORY}")
    );
    // The decompressed bytes themselves (at most MAX_PAGE_BYTES), a page's columns, nothing of its rows.
    assert!(peak < raw.len() + MIB, "refusing the bomb held {peak} bytes at once (its data is {} bytes)", raw.len());

    let (result, peak) = peak_while(|| Page::decode(&raw));
    assert!(malformed(result).contains("would take"));
    assert!(peak < 64 * 1024, "decoding held {peak} bytes before refusing");
}

#[test]
fn the_text_and_bytes_a_page_owns_count_towards_its_memory() {
    // 9 million values (290 MB as values, under the bound), the last a 50 MB text: over the bound together.
    let (columns, rows) = (90, 100_000);
    let text_len = 50_000_000;
    let mut body = vec![0u8; rows * columns - 1];
    body.push(5);
    varint(&mut body, text_len as u64);
    body.resize(body.len() + text_len, b'x');
    let raw = crafted(columns, rows as u64, &body);
    assert!(page::decoded_size(rows, columns) <= MAX_PAGE_MEMORY);
    let cost = page::decoded_size(rows, columns) + page::block_size(text_len);
    assert!(cost > MAX_PAGE_MEMORY);
    let (result, peak) = peak_while(|| Page::decode(&raw));
    assert_eq!(
        malformed(result),
        format!("100000 rows × 90 columns would take {cost} bytes in memory, over the limit of {MAX_PAGE_MEMORY}")
    );
    assert!(peak < 64 * 1024, "decoding held {peak} bytes before refusing");

    // Text within the bound decodes, holding no more than the estimate.
    let mut value = vec![5u8];
    varint(&mut value, 1024);
    value.resize(value.len() + 1024, b'y');
    let rows = 50_000;
    let body: Vec<u8> = value.iter().copied().cycle().take(value.len() * rows).collect();
    let raw = crafted(1, rows as u64, &body);
    let cost = page::decoded_size(rows, 1) + rows * page::block_size(1024);
    let (result, peak) = peak_while(|| Page::decode(&raw).map(|p| p.rows.len()));
    assert_eq!(result.unwrap(), rows);
    assert!(peak <= cost + 64 * 1024, "decoding held {peak} bytes, the estimate was {cost}");
}

/// `rows` × `columns` one-character texts: three bytes each on the wire (tag, length, character), in memory a
/// 32-byte `Value` and a heap block of their own (32 bytes at least, whatever the length).
fn one_character_texts(columns: usize, rows: usize) -> Vec<u8> {
    crafted(columns, rows as u64, &b"\x05\x01x".repeat(rows * columns))
}

#[test]
fn a_page_of_one_character_texts_counts_a_heap_block_per_value() {
    // 9.5 million one-character texts: 28.5 MB decompressed. Counted as 32 bytes a value plus their payload they
    // looked like 325 MB, under the bound, and decoding really took 610 MB: now refused before decoding.
    let (columns, rows) = (95, 100_000);
    let raw = one_character_texts(columns, rows);
    let cost = page::decoded_size(rows, columns) + rows * columns * page::block_size(1);
    assert_eq!(page::block_size(1), 32);
    assert!(cost > MAX_PAGE_MEMORY);
    let (result, peak) = peak_while(|| Page::decode(&raw));
    assert_eq!(
        malformed(result),
        format!("100000 rows × 95 columns would take {cost} bytes in memory, over the limit of {MAX_PAGE_MEMORY}")
    );
    assert!(peak < 64 * 1024, "decoding held {peak} bytes before refusing");

    // A third of that (8.4 MB of data, more than a sender puts in one page) decodes, and holds what was counted:
    // twice what 32 bytes a value plus payload would have said.
    let (columns, rows) = (28, 100_000);
    let raw = one_character_texts(columns, rows);
    let cost = page::decoded_size(rows, columns) + rows * columns * page::block_size(1);
    assert!(cost <= MAX_PAGE_MEMORY);
    let (result, peak) =
        peak_while(|| Page::decode(&raw).map(|p| (p.rows.len(), p.rows[rows - 1][columns - 1].clone())));
    assert_eq!(result.unwrap(), (rows, Value::Text("x".into())));
    assert!(peak <= cost + 64 * 1024, "decoding held {peak} bytes, the estimate was {cost}");
    assert!(peak >= cost - cost / 50, "decoding held {peak} bytes, far under the estimate of {cost}");
}

#[test]
fn the_worst_page_a_sender_cuts_at_8_mib_still_decodes_within_the_bound() {
    // 8 MiB of row data (what a sender puts in one page at most), all one-byte NULLs: the most values a page can
    // hold; its cost is the largest a legitimate page has, and it is under MAX_PAGE_MEMORY.
    let (columns, rows) = (128, 65_536);
    let raw = nulls(columns, rows);
    assert_eq!(raw.len() - crafted(columns, rows as u64, &[]).len(), 8 * MIB);
    let cost = page::decoded_size(rows, columns);
    assert!(cost <= MAX_PAGE_MEMORY);
    let (result, peak) =
        peak_while(|| Page::decode(&raw).map(|p| (p.rows.len(), p.rows[rows - 1][columns - 1].clone())));
    assert_eq!(result.unwrap(), (rows, Value::Null));
    assert!(peak <= cost + 64 * 1024, "decoding held {peak} bytes, the estimate was {cost}");
}

#[test]
fn more_rows_than_any_request_may_ask_for_are_refused() {
    let raw = nulls(1, MAX_PAGE_ROWS + 1);
    assert_eq!(malformed(Page::decode(&raw)), "row count 100001 is over the limit of 100000 rows a page");
    let raw = crafted(1, u64::MAX, &[]);
    assert_eq!(
        malformed(Page::decode(&raw)),
        format!("row count {} is over the limit of 100000 rows a page", u64::MAX)
    );
    // A row count the data cannot hold is still a lie, whatever the memory.
    assert_eq!(malformed(Page::decode(&crafted(2, 10, &[0; 19]))), "row count 10 exceeds the data");
}

#[test]
fn a_page_that_would_decompress_past_the_cap_is_refused_before_decompressing() {
    let page = Page {
        columns: vec![PageColumn { name: "id".into(), kind: ValueKind::Int, source_type: "bigint".into() }],
        rows: vec![vec![Value::Int(1)]],
    };
    let mut travelling = engine::compress::compress_bytes(&page.encode());
    travelling[4..12].copy_from_slice(&(MAX_PAGE_BYTES as u64 + 1).to_le_bytes());
    let (result, peak) = peak_while(|| Page::decompress(&travelling));
    assert_eq!(malformed(result), "page of 67108865 bytes exceeds the 67108864-byte limit");
    assert!(peak < 64 * 1024, "{peak}");
    assert_eq!(MAX_PAGE_BYTES, 64 * MIB);
}

/// A binary COPY stream of `tuples` tuples of one 4-byte field each.
fn copy_stream(tuples: usize) -> Vec<u8> {
    let mut d = b"PGCOPY\n\xff\r\n\0".to_vec();
    d.extend_from_slice(&0i32.to_be_bytes());
    d.extend_from_slice(&0i32.to_be_bytes());
    for i in 0..tuples {
        d.extend_from_slice(&1i16.to_be_bytes());
        d.extend_from_slice(&4i32.to_be_bytes());
        d.extend_from_slice(&(i as i32).to_be_bytes());
    }
    d.extend_from_slice(&(-1i16).to_be_bytes());
    d
}

#[test]
fn a_copy_stream_of_more_tuples_than_a_page_holds_is_refused() {
    let just = copy_stream(MAX_TUPLES);
    assert_eq!(binary_copy::scan(&just, 1).map(|t| t.starts.len()), Ok(MAX_TUPLES));
    // A million tiny tuples: 10 MB of stream, whose offsets alone would take 8 MB.
    let many = copy_stream(1_000_000);
    let (result, peak) = peak_while(|| binary_copy::scan(&many, 1).map(|t| t.starts.len()));
    assert_eq!(result, Err(format!("more than {MAX_TUPLES} tuples in one page")));
    assert!(peak <= 2 * MAX_TUPLES * size_of::<usize>(), "scanning held {peak} bytes");
}

#[test]
fn a_copy_stream_for_a_table_without_columns_is_refused() {
    // Zero-field tuples are 2 bytes each: their offsets would take four times the stream.
    let mut d = b"PGCOPY\n\xff\r\n\0".to_vec();
    d.extend_from_slice(&[0; 8]);
    for _ in 0..1000 {
        d.extend_from_slice(&0i16.to_be_bytes());
    }
    d.extend_from_slice(&(-1i16).to_be_bytes());
    assert_eq!(binary_copy::scan(&d, 0), Err("a table without columns has no binary COPY pages".to_owned()));
}

// Fuzzing regressions (scripts/fuzz): each input a target found, and what it must do.

/// protocol_messages: a filter bound beyond the integers came out of serde_json's default float parser an ULP or
/// two off (1.6661666666666663e31 for 16661666666666666666666666666660, whose nearest double is
/// 1.6661666666666668e31), and its own output parsed to yet another value: a key range off by an ULP, and a
/// message that did not survive a round trip. Fixed by serde_json's `float_roundtrip` (correctly rounded).
#[test]
fn json_numbers_in_protocol_messages_parse_to_the_nearest_double_and_round_trip() {
    use protocol::messages::{ClientMessage, Operation};
    use protocol::request::RowFilter;
    let text = r#"{"type":"request","id":7,"op":{"name":"fetch","table":"t","filter":{"kind":"key_range","from":16661666666666666666666666666660,"to":0.1}}}"#;
    let message: ClientMessage = serde_json::from_str(text).unwrap();
    let ClientMessage::Request { op: Operation::Fetch { filter: Some(filter), .. }, .. } = &message else {
        panic!("{message:?}")
    };
    let nearest: f64 = "16661666666666666666666666666660".parse().unwrap();
    assert_eq!(nearest, 1.6661666666666668e31);
    assert_eq!(
        filter.to_filter(),
        Ok(RowFilter::KeyRange { from: Some(Value::Float(nearest)), to: Some(Value::Float(0.1)) })
    );
    let json = serde_json::to_string(&message).unwrap();
    let again: ClientMessage = serde_json::from_str(&json).unwrap();
    assert_eq!(again, message);
    assert_eq!(serde_json::to_string(&again).unwrap(), json);
}
