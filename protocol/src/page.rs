//! A page of rows in the engine's binary encoding: the unit exported, sent and imported. Format: `docs/protocol.md`
//! ("Page encoding"). Decoding treats its input as hostile: every length is checked against what is left, the
//! decompressed size is capped, what the decoded page would take in memory is bounded before anything is
//! allocated (a one-byte NULL becomes a 32-byte [`Value`], a three-byte one-character text a `Value` and a heap
//! block of its own), and a malformed page is an error, never a panic or a partial page.

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;
use crate::value::{Value, ValueKind};

const MAGIC: &[u8; 4] = b"DBTP";
const VERSION: u8 = 1;
/// The largest page a receiver will decompress: eight times the row data a sender puts in one page (8 MiB,
/// `PageRequest::MAX_PAGE_BYTES`), so a compression bomb costs at most this much.
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The most a decoded page may take in memory: its rows' `Vec`s and `Value`s ([`decoded_size`]) and a heap block
/// ([`block_size`]) for each non-empty text and bytes value, as the allocator really hands them out. Counted over
/// the whole page before anything is allocated. A page of 8 MiB of row data, cut as a sender cuts pages (it counts
/// 2 bytes a NULL, 6 a one-character text), costs at most about 16 × 8 MiB: well inside.
pub const MAX_PAGE_MEMORY: usize = 320 * 1024 * 1024;
/// The most rows a page may hold: no request may ask for more (`PageRequest::MAX_LIMIT`).
pub const MAX_PAGE_ROWS: usize = crate::request::PageRequest::MAX_LIMIT as usize;
/// PostgreSQL's own limit on columns per table.
pub const MAX_COLUMNS: usize = 1600;

/// One column of a page: its name, its kind, and the source's full type (e.g. `numeric(12,2)`), for messages
/// and for a receiver that creates the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageColumn {
    pub name: String,
    pub kind: ValueKind,
    pub source_type: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub columns: Vec<PageColumn>,
    pub rows: Vec<Vec<Value>>,
}

const TAG_NULL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INT: u8 = 3;
const TAG_FLOAT: u8 = 4;
const TAG_TEXT: u8 = 5;
const TAG_BYTES: u8 = 6;

impl Page {
    /// The uncompressed binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.rows.len() * self.columns.len() * 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_varint(&mut out, self.columns.len() as u64);
        for c in &self.columns {
            put_bytes(&mut out, c.name.as_bytes());
            out.push(c.kind.code());
            put_bytes(&mut out, c.source_type.as_bytes());
        }
        put_varint(&mut out, self.rows.len() as u64);
        for row in &self.rows {
            debug_assert_eq!(row.len(), self.columns.len());
            for v in row {
                match v {
                    Value::Null => out.push(TAG_NULL),
                    Value::Bool(false) => out.push(TAG_FALSE),
                    Value::Bool(true) => out.push(TAG_TRUE),
                    Value::Int(i) => {
                        out.push(TAG_INT);
                        put_varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
                    }
                    Value::Float(f) => {
                        out.push(TAG_FLOAT);
                        out.extend_from_slice(&f.to_bits().to_le_bytes());
                    }
                    Value::Text(t) => {
                        out.push(TAG_TEXT);
                        put_bytes(&mut out, t.as_bytes());
                    }
                    Value::Bytes(b) => {
                        out.push(TAG_BYTES);
                        put_bytes(&mut out, b);
                    }
                }
            }
        }
        out
    }

    /// Decodes [`Page::encode`] output; refuses anything malformed.
    pub fn decode(data: &[u8]) -> Result<Page, ProtocolError> {
        let mut r = Reader { data, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(bad("not a page (bad magic)"));
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(bad(&format!("unsupported page version {version}")));
        }
        let ncols = r.varint()? as usize;
        if ncols == 0 || ncols > MAX_COLUMNS {
            return Err(bad(&format!("column count {ncols} out of range")));
        }
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let name = r.string()?;
            let code = r.byte()?;
            let kind = ValueKind::from_code(code).ok_or_else(|| bad(&format!("unknown column kind {code}")))?;
            let source_type = r.string()?;
            columns.push(PageColumn { name, kind, source_type });
        }
        let nrows = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        if nrows > MAX_PAGE_ROWS {
            return Err(bad(&format!("row count {nrows} is over the limit of {MAX_PAGE_ROWS} rows a page")));
        }
        // Every value takes at least one byte: a row count the data cannot hold is a lie.
        let values = nrows * ncols;
        if values > r.remaining() {
            return Err(bad(&format!("row count {nrows} exceeds the data")));
        }
        // What decoding will allocate, counted on a first walk that allocates nothing: the rows, then one block
        // per non-empty text or bytes value. The walk also finds every malformed value before any is decoded.
        let too_much = |memory: usize| {
            bad(&format!(
                "{nrows} rows × {ncols} columns would take {memory} bytes in memory, over the limit of {MAX_PAGE_MEMORY}"
            ))
        };
        let mut memory = decoded_size(nrows, ncols);
        if memory > MAX_PAGE_MEMORY {
            return Err(too_much(memory));
        }
        let mut walk = Reader { data, pos: r.pos };
        for _ in 0..values {
            match walk.value()? {
                Raw::Text(t) => memory = memory.saturating_add(block_size(t.len())),
                Raw::Bytes(b) => memory = memory.saturating_add(block_size(b.len())),
                _ => {}
            }
        }
        if walk.remaining() != 0 {
            return Err(bad(&format!("{} trailing bytes", walk.remaining())));
        }
        if memory > MAX_PAGE_MEMORY {
            return Err(too_much(memory));
        }
        // Both counts and every length are bounded now: the capacities are what the page will hold.
        let mut rows = Vec::with_capacity(nrows);
        for _ in 0..nrows {
            let mut row = Vec::with_capacity(ncols);
            for _ in 0..ncols {
                row.push(match r.value()? {
                    Raw::Null => Value::Null,
                    Raw::Bool(b) => Value::Bool(b),
                    Raw::Int(i) => Value::Int(i),
                    Raw::Float(f) => Value::Float(f),
                    Raw::Text(t) => Value::Text(t.to_owned()),
                    Raw::Bytes(b) => Value::Bytes(b.to_vec()),
                });
            }
            rows.push(row);
        }
        Ok(Page { columns, rows })
    }

    /// The JSON view for previews and the API: `{"columns": [...], "rows": [[...]]}`. Integers beyond ±2^53
    /// become strings (JavaScript would round them), non-finite floats become "NaN"/"Infinity"/"-Infinity",
    /// bytes become `{"hex": "…"}`, JSON columns stay text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as J, json};
        let rows: Vec<J> = self
            .rows
            .iter()
            .map(|row| {
                J::Array(
                    row.iter()
                        .map(|v| match v {
                            Value::Null => J::Null,
                            Value::Bool(b) => J::Bool(*b),
                            Value::Int(i) if i.unsigned_abs() <= (1u64 << 53) => json!(i),
                            Value::Int(i) => J::String(i.to_string()),
                            Value::Float(f) if f.is_finite() => json!(f),
                            Value::Float(f) => J::String(crate::value::float_text(*f)),
                            Value::Text(t) => J::String(t.clone()),
                            Value::Bytes(b) => json!({ "hex": crate::value::hex(b) }),
                        })
                        .collect(),
                )
            })
            .collect();
        json!({ "columns": self.columns, "rows": rows })
    }
}

/// The memory the rows of a decoded page take before their texts and bytes: the block of row `Vec`s, and per row
/// its block of one [`Value`] a column.
pub fn decoded_size(rows: usize, columns: usize) -> usize {
    let row = block_size(columns.saturating_mul(size_of::<Value>()));
    block_size(rows.saturating_mul(size_of::<Vec<Value>>())).saturating_add(rows.saturating_mul(row))
}

/// What a heap allocation of `len` bytes really takes: glibc's malloc (the system allocator on Linux) adds an
/// 8-byte header, rounds up to 16 and hands out at least 32 bytes, so a one-byte text costs 32. Nothing for 0
/// (an empty `String` or `Vec` allocates nothing).
pub fn block_size(len: usize) -> usize {
    if len == 0 { 0 } else { (len.saturating_add(8 + 15) & !15).max(32) }
}

pub(crate) fn bad(msg: &str) -> ProtocolError {
    ProtocolError::MalformedPage(msg.to_owned())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A value as the encoding holds it, before anything is allocated for it.
enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if n > self.remaining() {
            return Err(bad(&format!("truncated at byte {} (needed {n} more)", self.pos)));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn varint(&mut self) -> Result<u64, ProtocolError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint longer than 10 bytes"))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let n = self.varint()?;
        self.take(usize::try_from(n).map_err(|_| bad("length overflow"))?)
    }
    /// One value, its text and bytes borrowed from the page.
    fn value(&mut self) -> Result<Raw<'a>, ProtocolError> {
        Ok(match self.byte()? {
            TAG_NULL => Raw::Null,
            TAG_FALSE => Raw::Bool(false),
            TAG_TRUE => Raw::Bool(true),
            TAG_INT => {
                let z = self.varint()?;
                Raw::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            TAG_FLOAT => Raw::Float(f64::from_bits(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))),
            TAG_TEXT => {
                let at = self.pos;
                Raw::Text(
                    std::str::from_utf8(self.bytes()?)
                        .map_err(|_| bad(&format!("invalid UTF-8 in text at byte {at}")))?,
                )
            }
            TAG_BYTES => Raw::Bytes(self.bytes()?),
            tag => return Err(bad(&format!("unknown value tag {tag} at byte {}", self.pos - 1))),
        })
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        let at = self.pos;
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| bad(&format!("invalid UTF-8 in text at byte {at}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Page {
        Page {
            columns: vec![
                PageColumn { name: "id".into(), kind: ValueKind::Int, source_type: "bigint".into() },
                PageColumn { name: "x".into(), kind: ValueKind::Float, source_type: "double precision".into() },
                PageColumn { name: "t".into(), kind: ValueKind::Text, source_type: "text".into() },
                PageColumn { name: "b".into(), kind: ValueKind::Bytes, source_type: "bytea".into() },
                PageColumn { name: "ok".into(), kind: ValueKind::Bool, source_type: "boolean".into() },
            ],
            rows: vec![
                vec![
                    Value::Int(i64::MIN),
                    Value::Float(f64::NAN),
                    Value::Text("".into()),
                    Value::Bytes(vec![]),
                    Value::Bool(true),
                ],
                vec![
                    Value::Int(i64::MAX),
                    Value::Float(-0.0),
                    Value::Text("é\t\n\"'\\ 🚀".into()),
                    Value::Bytes((0..=255).collect()),
                    Value::Null,
                ],
                vec![Value::Int(0), Value::Null, Value::Null, Value::Null, Value::Bool(false)],
            ],
        }
    }

    #[test]
    fn pages_round_trip_exactly() {
        let page = sample();
        assert_eq!(Page::decode(&page.encode()).unwrap(), page);
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let raw = sample().encode();
        for cut in 0..raw.len() {
            assert!(Page::decode(&raw[..cut]).is_err(), "truncated at {cut}");
        }
        for i in 0..raw.len() {
            let mut broken = raw.clone();
            broken[i] ^= 0xff;
            let _ = Page::decode(&broken); // must not panic; may or may not decode to something else
        }
        let mut trailing = raw.clone();
        trailing.push(0);
        assert!(Page::decode(&trailing).is_err());
    }

    #[test]
    fn a_row_count_the_data_cannot_hold_is_refused_before_allocating() {
        let mut raw = Vec::new();
        raw.extend_from_slice(MAGIC);
        raw.push(VERSION);
        put_varint(&mut raw, 1);
        put_bytes(&mut raw, b"a");
        raw.push(ValueKind::Int.code());
        put_bytes(&mut raw, b"");
        put_varint(&mut raw, u64::MAX >> 1);
        assert!(Page::decode(&raw).is_err());
    }

    #[test]
    fn json_view_keeps_what_javascript_would_lose() {
        let j = sample().to_json();
        assert_eq!(j["rows"][0][0], "-9223372036854775808");
        assert_eq!(j["rows"][0][1], "NaN");
        assert_eq!(j["rows"][1][3]["hex"].as_str().unwrap().len(), 512);
        assert_eq!(j["columns"][0]["kind"], "int");
    }
}
