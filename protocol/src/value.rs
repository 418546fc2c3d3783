//! The engine-neutral value of one cell, and the kind of a column that says how to read it.
//!
//! Six storage shapes carry everything exactly: integers and floats as themselves (every bit of a float kept,
//! NaN, ±Infinity and -0 included), bytes as bytes, and everything else — numeric, dates, times, intervals, JSON,
//! UUIDs, arrays, ranges, geometric, network and other PostgreSQL types — as the database's own canonical text,
//! which its input accepts back unchanged. The column's [`ValueKind`] says which text it is.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl PartialEq for Value {
    /// Floats compare by bits, so NaN equals NaN and -0 differs from 0: "equal" means "carried exactly".
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Text for messages and keys in error reports (bytes as `\x…` hex).
    pub fn display(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_text(*f),
            Value::Text(t) => t.clone(),
            Value::Bytes(b) => format!("\\x{}", hex(b)),
        }
    }
}

/// A float as PostgreSQL writes it: shortest text that reads back to the same bits.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "Infinity".into()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        // Rust's Display is the shortest round-trip representation, like PostgreSQL 12+.
        let s = f.to_string();
        if s == "0" && f.is_sign_negative() { "-0".into() } else { s }
    }
}

/// Parses PostgreSQL's float text (NaN, Infinity, -Infinity, exponents).
pub fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// What a column holds, independent of engine: tells a receiver how to store a value and how to read text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Bool,
    Int,
    Float,
    /// Exact decimal as text (`1.500`, `NaN`, `Infinity`).
    Numeric,
    Text,
    Bytes,
    Json,
    Uuid,
    Date,
    Time,
    Timestamp,
    /// Text with an explicit UTC offset.
    TimestampTz,
    Interval,
    /// PostgreSQL array text (`{1,NULL}`, `[0:1]={1,2}`).
    Array,
    /// Any other PostgreSQL type, as its canonical text (enums, ranges, geometric, network, bit strings, …).
    Other,
}

impl ValueKind {
    pub const ALL: [ValueKind; 15] = [
        ValueKind::Bool,
        ValueKind::Int,
        ValueKind::Float,
        ValueKind::Numeric,
        ValueKind::Text,
        ValueKind::Bytes,
        ValueKind::Json,
        ValueKind::Uuid,
        ValueKind::Date,
        ValueKind::Time,
        ValueKind::Timestamp,
        ValueKind::TimestampTz,
        ValueKind::Interval,
        ValueKind::Array,
        ValueKind::Other,
    ];

    pub fn code(self) -> u8 {
        ValueKind::ALL.iter().position(|k| *k == self).expect("listed") as u8
    }

    pub fn from_code(code: u8) -> Option<ValueKind> {
        ValueKind::ALL.get(code as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_through_text_exactly() {
        for f in [0.0, -0.0, 1.0 / 3.0, 1e308, 5e-324, f64::MAX, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.1 + 0.2]
        {
            let back = parse_float(&float_text(f)).unwrap();
            assert_eq!(Value::Float(back), Value::Float(f), "{}", float_text(f));
        }
        assert_eq!(float_text(-0.0), "-0");
    }

    #[test]
    fn hex_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&all)).unwrap(), all);
        assert!(unhex("abc").is_none() && unhex("zz").is_none());
    }
}
