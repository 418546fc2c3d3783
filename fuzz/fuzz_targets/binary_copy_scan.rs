//! The PostgreSQL binary COPY structure check (`engine::postgres::binary_copy::scan`), as a receiver meets a
//! `pg_copy` page: the first byte is the table's column count, the rest the stream. Never a panic; for a stream
//! that passes, every field of every tuple can be read, every key read, and a cut stream scans to its cut.
#![no_main]

use engine::postgres::binary_copy::{field, key_value, scan, truncate};
use libfuzzer_sys::fuzz_target;

const KEY_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "text",
    "uuid",
    "character varying(20)",
];

fuzz_target!(|input: &[u8]| {
    let Some((&columns, data)) = input.split_first() else {
        return;
    };
    let columns = usize::from(columns % 32);
    let Ok(tuples) = scan(data, columns) else {
        return;
    };
    for &start in &tuples.starts {
        for i in 0..columns {
            if let Some(bytes) = field(data, start, i) {
                for ty in KEY_TYPES {
                    let _ = key_value(bytes, ty);
                }
            }
        }
    }
    let half = tuples.starts.len() / 2;
    let cut = truncate(data.to_vec(), &tuples, half);
    assert_eq!(
        scan(&cut, columns).map(|t| t.starts.len()),
        Ok(half),
        "a cut stream holds its first tuples"
    );
});
