//! PostgreSQL's binary COPY format, as far as the PostgreSQL → PostgreSQL fast path needs it: find the tuples
//! of a `COPY … TO STDOUT (FORMAT binary)` result, cut it after n tuples, and read the key fields of a tuple
//! (for the next cursor and the page's key range). The fields themselves are never decoded otherwise: the bytes
//! go to `COPY … FROM STDIN (FORMAT binary)` on the other side as they came, and the target's type input
//! functions validate them there.
//!
//! Layout: an 11-byte signature, a 32-bit flags word, a 32-bit header extension length and the extension; then
//! per tuple a 16-bit field count and per field a 32-bit length (-1: NULL) and the bytes; then the trailer, a
//! field count of -1. Integers are big-endian.

use protocol::value::Value;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
const TRAILER: [u8; 2] = [0xff, 0xff];
/// The most tuples a stream may hold: a page's rows, plus the one a sender reads past its limit to know whether
/// more follow. With at least one field (6 bytes) a tuple, the offsets also stay within 4/3 of the data's size.
pub const MAX_TUPLES: usize = protocol::page::MAX_PAGE_ROWS + 1;

/// Where each tuple of a binary COPY stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuples {
    /// Length of the header (signature, flags, extension).
    pub header: usize,
    /// Offset of each tuple; the trailer follows the last one at `end`.
    pub starts: Vec<usize>,
    pub end: usize,
}

fn read_i16(data: &[u8], at: usize) -> Option<i16> {
    data.get(at..at + 2).map(|b| i16::from_be_bytes([b[0], b[1]]))
}

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    data.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the stream's structure (signature, every tuple with `columns` fields, lengths inside the data, the
/// trailer last) and finds its tuples. Data from the network: every length is checked before it is used, and
/// a stream of more than [`MAX_TUPLES`] tuples is refused before their offsets take more memory.
pub fn scan(data: &[u8], columns: usize) -> Result<Tuples, String> {
    if columns == 0 {
        return Err("a table without columns has no binary COPY pages".into());
    }
    if data.len() < 19 || &data[..11] != SIGNATURE {
        return Err("not a PostgreSQL binary COPY stream (bad signature)".into());
    }
    let flags = read_i32(data, 11).ok_or("truncated header")?;
    if flags & (1 << 16) != 0 {
        return Err("binary COPY with OIDs is not supported".into());
    }
    let ext = read_i32(data, 15).ok_or("truncated header")?;
    let header = usize::try_from(ext).ok().and_then(|e| e.checked_add(19)).ok_or("bad header extension length")?;
    if header > data.len() {
        return Err("truncated header extension".into());
    }
    let mut at = header;
    let mut starts = Vec::new();
    loop {
        let count = read_i16(data, at).ok_or("the stream ends without its trailer")?;
        if count == -1 {
            if at + 2 != data.len() {
                return Err("bytes after the trailer".into());
            }
            return Ok(Tuples { header, starts, end: at });
        }
        if count < 0 || count as usize != columns {
            return Err(format!("a tuple has {count} fields, the table {columns}"));
        }
        if starts.len() == MAX_TUPLES {
            return Err(format!("more than {MAX_TUPLES} tuples in one page"));
        }
        starts.push(at);
        at += 2;
        for _ in 0..count {
            let len = read_i32(data, at).ok_or("a field ends the stream")?;
            at += 4;
            if len >= 0 {
                at = at.checked_add(len as usize).filter(|&e| e <= data.len()).ok_or("a field runs past the end")?;
            } else if len != -1 {
                return Err("a negative field length".into());
            }
        }
    }
}

/// The bytes of field `index` of the tuple at `start` (`None`: NULL). `start` must come from [`scan`].
pub fn field(data: &[u8], start: usize, index: usize) -> Option<&[u8]> {
    let mut at = start + 2;
    for i in 0.. {
        let len = read_i32(data, at)?;
        at += 4;
        if i == index {
            return (len >= 0).then(|| &data[at..at + len as usize]);
        }
        at += len.max(0) as usize;
    }
    None
}

/// The stream with only its first `n` tuples (and the trailer).
pub fn truncate(mut data: Vec<u8>, tuples: &Tuples, n: usize) -> Vec<u8> {
    if n < tuples.starts.len() {
        data.truncate(tuples.starts[n]);
        data.extend_from_slice(&TRAILER);
    }
    data
}

/// Whether keys of this PostgreSQL type can be read from binary COPY ([`key_value`] reads exactly these).
pub use protocol::pg_copy::key_type_supported;

/// A key field as the export's cursor holds it: integers as `Int`, text and uuid as `Text` (what the text
/// export gives, so both paths' cursors are interchangeable).
pub fn key_value(bytes: &[u8], data_type: &str) -> Option<Value> {
    Some(match data_type {
        "smallint" => Value::Int(i16::from_be_bytes(bytes.try_into().ok()?).into()),
        "integer" => Value::Int(i32::from_be_bytes(bytes.try_into().ok()?).into()),
        "bigint" => Value::Int(i64::from_be_bytes(bytes.try_into().ok()?)),
        "uuid" => {
            let b: [u8; 16] = bytes.try_into().ok()?;
            let h = protocol::value::hex(&b);
            Value::Text(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
        }
        t if t == "text" || t.starts_with("character varying") => Value::Text(String::from_utf8(bytes.to_vec()).ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(tuples: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut d = SIGNATURE.to_vec();
        d.extend_from_slice(&0i32.to_be_bytes());
        d.extend_from_slice(&0i32.to_be_bytes());
        for t in tuples {
            d.extend_from_slice(&(t.len() as i16).to_be_bytes());
            for f in *t {
                match f {
                    Some(b) => {
                        d.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        d.extend_from_slice(b);
                    }
                    None => d.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        d.extend_from_slice(&TRAILER);
        d
    }

    #[test]
    fn tuples_are_found_cut_and_their_keys_read() {
        let one = 1i64.to_be_bytes();
        let two = 2i64.to_be_bytes();
        let data = stream(&[&[Some(&one), Some(b"a")], &[Some(&two), None]]);
        let t = scan(&data, 2).unwrap();
        assert_eq!(t.starts.len(), 2);
        assert_eq!(field(&data, t.starts[1], 0).map(|b| key_value(b, "bigint")), Some(Some(Value::Int(2))));
        assert_eq!(field(&data, t.starts[1], 1), None);
        assert_eq!(field(&data, t.starts[0], 1), Some(&b"a"[..]));
        let cut = truncate(data.clone(), &t, 1);
        assert_eq!(cut, stream(&[&[Some(&one), Some(b"a")]]));
        assert_eq!(scan(&cut, 2).unwrap().starts.len(), 1);
    }

    #[test]
    fn hostile_streams_are_refused() {
        let one = 1i64.to_be_bytes();
        let good = stream(&[&[Some(&one)]]);
        assert!(scan(&good, 2).unwrap_err().contains("1 fields"));
        assert!(scan(&good[..good.len() - 1], 1).is_err(), "no trailer");
        let mut long = good.clone();
        long.push(0);
        assert!(scan(&long, 1).unwrap_err().contains("after the trailer"));
        let mut lying = good.clone();
        lying[21..25].copy_from_slice(&1000i32.to_be_bytes());
        assert!(scan(&lying, 1).unwrap_err().contains("past the end"));
        assert!(scan(b"COPY", 1).is_err());
    }

    #[test]
    fn uuid_and_text_keys_read_as_the_text_export_gives_them() {
        let u = [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(key_value(&u, "uuid"), Some(Value::Text("12345678-9abc-def0-0001-020304050607".into())));
        assert_eq!(key_value(b"caf\xc3\xa9", "character varying(20)"), Some(Value::Text("café".into())));
        assert_eq!(key_value(&[0, 7], "smallint"), Some(Value::Int(7)));
        assert_eq!(key_value(&[0, 7], "integer"), None, "wrong width");
    }
}
