//! What a receiver does with each message a sender sends, without any I/O, so the browser's link (gloo-net) and
//! the programmatic client (tokio-tungstenite) route replies the same way: responses and errors go to their
//! request id, a `page` header waits for its binary frame, and the pair becomes one page.

use std::collections::HashMap;

use crate::protocol::{ErrorCode, ServerMessage};

/// What a page header said, kept until its frame arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHeader {
    pub rows: usize,
    pub has_more: bool,
    pub next: Option<String>,
}

/// One routed message.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A `response` to request `id`.
    Reply { id: u64, result: serde_json::Value },
    /// An `error` answering request `id`.
    Failed { id: u64, code: ErrorCode, message: String },
    /// An error about no request in particular (logged; the socket goes on).
    Notice(String),
    /// A whole page for request `id`: grant a credit, hand it on.
    Page { id: u64, header: PageHeader, bytes: Vec<u8> },
    /// A page header, now waiting for its frame.
    Pending,
}

/// Pairs page headers with their frames; anything that breaks the protocol is an error that ends the socket.
#[derive(Debug, Default)]
pub struct Demux {
    headers: HashMap<u64, PageHeader>,
}

impl Demux {
    pub fn text(&mut self, text: &str) -> Result<Incoming, String> {
        match serde_json::from_str::<ServerMessage>(text) {
            Ok(ServerMessage::Response { id, result }) => Ok(Incoming::Reply { id, result }),
            Ok(ServerMessage::Error { id: Some(id), code, message }) => Ok(Incoming::Failed { id, code, message }),
            Ok(ServerMessage::Error { id: None, message, .. }) => Ok(Incoming::Notice(message)),
            Ok(ServerMessage::Page { id, rows, has_more, next, .. }) => {
                self.headers.insert(id, PageHeader { rows, has_more, next });
                Ok(Incoming::Pending)
            }
            Ok(ServerMessage::Welcome { .. }) => Err("a second welcome".into()),
            Err(e) => Err(format!("an unknown message ({e})")),
        }
    }

    /// A binary frame: the request id (u64, little-endian), then the compressed page.
    pub fn binary(&mut self, frame: &[u8]) -> Result<Incoming, String> {
        let id = frame.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).ok_or("a binary frame shorter than its id")?;
        let header = self.headers.remove(&id).ok_or_else(|| format!("a page for unknown request {id}"))?;
        Ok(Incoming::Page { id, header, bytes: frame[8..].to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_and_its_frame_make_one_page_and_strays_are_errors() {
        let mut d = Demux::default();
        assert_eq!(d.text(r#"{"type":"page","id":7,"rows":2,"has_more":true,"next":"ab","bytes":3}"#), Ok(Incoming::Pending));
        let frame = [7u64.to_le_bytes().as_slice(), &[1, 2, 3]].concat();
        let header = PageHeader { rows: 2, has_more: true, next: Some("ab".into()) };
        assert_eq!(d.binary(&frame), Ok(Incoming::Page { id: 7, header, bytes: vec![1, 2, 3] }));
        assert!(d.binary(&frame).unwrap_err().contains("unknown request 7"), "a frame is used once");
        assert!(d.binary(&[1, 2]).is_err());
        assert_eq!(d.text(r#"{"type":"response","id":1,"result":"pong"}"#), Ok(Incoming::Reply { id: 1, result: "pong".into() }));
        assert_eq!(
            d.text(r#"{"type":"error","id":2,"code":"table_not_found","message":"x"}"#),
            Ok(Incoming::Failed { id: 2, code: ErrorCode::TableNotFound, message: "x".into() })
        );
        assert!(d.text("nonsense").is_err());
    }
}
