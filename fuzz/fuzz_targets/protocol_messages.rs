//! Protocol message parsing (`protocol::messages`, `protocol::demux`) from JSON text, as either side meets it: client
//! messages (the sender reads them), server messages (the receiver's demux routes them), filters and cursors.
//! Never a panic; what parses serializes back to what parses to the same message.
#![no_main]

use protocol::demux::Demux;
use protocol::messages::{Capabilities, ChecksumReply, ClientMessage, JsonPage, ServerMessage, decode_cursor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = serde_json::from_str::<ClientMessage>(text) {
        let json = serde_json::to_string(&message).expect("a message serializes");
        let again: ClientMessage =
            serde_json::from_str(&json).expect("a serialized message parses");
        assert_eq!(serde_json::to_string(&again).unwrap(), json);
        match &message {
            ClientMessage::Hello { receiver, .. } => {
                let _ = receiver.validate();
            }
            ClientMessage::Request {
                op: protocol::messages::Operation::Fetch { filter, cursor, .. },
                ..
            } => {
                if let Some(filter) = filter {
                    let _ = filter.to_filter();
                }
                if let Some(cursor) = cursor {
                    let _ = decode_cursor(cursor);
                }
            }
            _ => {}
        }
    }
    if let Ok(message) = serde_json::from_str::<ServerMessage>(text) {
        let json = serde_json::to_string(&message).expect("a message serializes");
        let again: ServerMessage =
            serde_json::from_str(&json).expect("a serialized message parses");
        assert_eq!(serde_json::to_string(&again).unwrap(), json);
    }
    // Typed replies: never a panic; what decodes encodes to what decodes to the same reply.
    if let Ok(caps) = serde_json::from_str::<Capabilities>(text) {
        let again: Capabilities = serde_json::from_value(serde_json::to_value(&caps).unwrap()).unwrap();
        assert_eq!(again, caps);
    }
    if let Ok(sum) = serde_json::from_str::<ChecksumReply>(text) {
        let again: ChecksumReply = serde_json::from_value(serde_json::to_value(&sum).unwrap()).unwrap();
        assert_eq!(again, sum);
    }
    let _ = serde_json::from_str::<JsonPage>(text);
    // The receiver's router, fed the text and then the same bytes as a binary frame.
    let mut demux = Demux::default();
    let _ = demux.text(text);
    let _ = demux.binary(data);
});
