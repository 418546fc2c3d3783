//! What a receiver does with each message a sender sends, without any I/O, so the browser's link (gloo-net) and
//! the programmatic client (tokio-tungstenite) route replies the same way: responses and errors go to their
//! request id, a `page` header waits for its binary frame, and the pair becomes one page.
//!
//! The sender is hostile input: a header reserves nothing (its `bytes` is only compared with the frame that
//! comes), at most [`MAX_WAITING_HEADERS`] headers may wait, and a frame must be exactly as long as announced.

use std::collections::HashMap;

use crate::messages::{ErrorCode, MAX_CREDITS, MAX_PAGE_FRAME, ServerMessage};

/// Page headers that may wait for their frames: a sender sends a page only against a credit, and a receiver
/// never grants more than [`MAX_CREDITS`].
pub const MAX_WAITING_HEADERS: usize = MAX_CREDITS as usize;

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
    /// Each waiting header with the compressed length it announced.
    headers: HashMap<u64, (PageHeader, usize)>,
}

impl Demux {
    pub fn text(&mut self, text: &str) -> Result<Incoming, String> {
        match serde_json::from_str::<ServerMessage>(text) {
            Ok(ServerMessage::Response { id, result }) => Ok(Incoming::Reply { id, result }),
            Ok(ServerMessage::Error { id: Some(id), code, message }) => Ok(Incoming::Failed { id, code, message }),
            Ok(ServerMessage::Error { id: None, message, .. }) => Ok(Incoming::Notice(message)),
            Ok(ServerMessage::Page { id, rows, has_more, next, bytes }) => {
                if bytes > MAX_PAGE_FRAME {
                    return Err(format!("a page header announcing {bytes} bytes (at most {MAX_PAGE_FRAME})"));
                }
                if self.headers.contains_key(&id) {
                    return Err(format!("a second page header for request {id} before its frame"));
                }
                if self.headers.len() >= MAX_WAITING_HEADERS {
                    return Err(format!("more than {MAX_WAITING_HEADERS} page headers waiting for their frames"));
                }
                self.headers.insert(id, (PageHeader { rows, has_more, next }, bytes));
                Ok(Incoming::Pending)
            }
            Ok(ServerMessage::Welcome { .. }) => Err("a second welcome".into()),
            Err(e) => Err(format!("an unknown message ({e})")),
        }
    }

    /// A binary frame: the request id (u64, little-endian), then the compressed page.
    pub fn binary(&mut self, frame: &[u8]) -> Result<Incoming, String> {
        let id = frame
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or("a binary frame shorter than its id")?;
        let (header, announced) = self.headers.remove(&id).ok_or_else(|| format!("a page for unknown request {id}"))?;
        let page = &frame[8..];
        if page.len() != announced {
            return Err(format!("a page of {} bytes for request {id}, its header announced {announced}", page.len()));
        }
        Ok(Incoming::Page { id, header, bytes: page.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_and_its_frame_make_one_page_and_strays_are_errors() {
        let mut d = Demux::default();
        assert_eq!(
            d.text(r#"{"type":"page","id":7,"rows":2,"has_more":true,"next":"ab","bytes":3}"#),
            Ok(Incoming::Pending)
        );
        let frame = [7u64.to_le_bytes().as_slice(), &[1, 2, 3]].concat();
        let header = PageHeader { rows: 2, has_more: true, next: Some("ab".into()) };
        assert_eq!(d.binary(&frame), Ok(Incoming::Page { id: 7, header, bytes: vec![1, 2, 3] }));
        assert!(d.binary(&frame).unwrap_err().contains("unknown request 7"), "a frame is used once");
        assert!(d.binary(&[1, 2]).is_err());
        assert_eq!(
            d.text(r#"{"type":"response","id":1,"result":"pong"}"#),
            Ok(Incoming::Reply { id: 1, result: "pong".into() })
        );
        assert_eq!(
            d.text(r#"{"type":"error","id":2,"code":"table_not_found","message":"x"}"#),
            Ok(Incoming::Failed { id: 2, code: ErrorCode::TableNotFound, message: "x".into() })
        );
        assert!(d.text("nonsense").is_err());
    }

    #[test]
    fn headers_reserve_nothing_are_bounded_and_frames_must_match_them() {
        let header = |id: u64, bytes: usize| {
            format!(r#"{{"type":"page","id":{id},"rows":1,"has_more":false,"next":null,"bytes":{bytes}}}"#)
        };
        let mut d = Demux::default();
        assert!(d.text(&header(1, usize::MAX)).unwrap_err().contains(&format!("announcing {} bytes", usize::MAX)));
        assert_eq!(d.text(&header(1, 3)), Ok(Incoming::Pending));
        assert_eq!(d.text(&header(1, 3)).unwrap_err(), "a second page header for request 1 before its frame");
        let frame = [1u64.to_le_bytes().as_slice(), &[1, 2]].concat();
        assert_eq!(d.binary(&frame).unwrap_err(), "a page of 2 bytes for request 1, its header announced 3");
        for id in 0..MAX_WAITING_HEADERS as u64 {
            assert_eq!(d.text(&header(id, 0)), Ok(Incoming::Pending));
        }
        assert_eq!(d.text(&header(1000, 0)).unwrap_err(), "more than 64 page headers waiting for their frames");
    }
}
