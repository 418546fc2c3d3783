//! Pages and binary COPY bytes as they travel: magic, size, zstd. The page encoding itself is the protocol
//! crate's ([`protocol::page`]); compression lives here because zstd is C and the browser never (de)compresses —
//! it relays the bytes as they came.

use protocol::messages::Compression;
use protocol::page::{MAX_PAGE_BYTES, Page};

use crate::EngineError;

const COMPRESSED_MAGIC: &[u8; 4] = b"DBTZ";
/// The same framing with the bytes as they are ([`Compression::None`]).
const RAW_MAGIC: &[u8; 4] = b"DBTR";

/// A [`Page`] compressed for the wire, and back (size-capped).
pub trait PageCompression: Sized {
    /// The encoding, zstd-compressed: what travels.
    fn compress(&self) -> Vec<u8>;
    /// Decompresses (size-capped) and decodes a travelling page.
    fn decompress(data: &[u8]) -> Result<Self, EngineError>;
}

impl PageCompression for Page {
    fn compress(&self) -> Vec<u8> {
        compress_bytes(&self.encode())
    }

    fn decompress(data: &[u8]) -> Result<Page, EngineError> {
        Ok(Page::decode(&decompress_bytes(data)?)?)
    }
}

/// This machine, as senders name theirs in `capabilities.host` and receivers compare it
/// ([`Compression::for_link`]): a hash of the running kernel's boot id, the same for every process and container
/// on one kernel and different on any other machine (a tunnel's far end included), so the id says nothing else
/// about the machine. `None` where the kernel has none (not Linux): pages then always travel compressed.
pub fn this_machine() -> Option<String> {
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let boot = boot.trim();
        if boot.len() < 16 {
            return None;
        }
        let digest = Sha256::new().chain_update(b"db-transfer machine\0").chain_update(boot.as_bytes()).finalize();
        Some(protocol::value::hex(&digest[..16]))
    })
    .clone()
}

fn bad(msg: &str) -> EngineError {
    EngineError::MalformedPage(msg.to_owned())
}

/// Bytes as they travel, `compression` as the receiver asked: [`compress_bytes`], or the same framing around the
/// bytes as they are.
pub fn frame_bytes(raw: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Zstd => compress_bytes(raw),
        Compression::None => {
            let mut out = Vec::with_capacity(raw.len() + 12);
            out.extend_from_slice(RAW_MAGIC);
            out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
            out.extend_from_slice(raw);
            out
        }
    }
}

/// Bytes as they travel: magic, size, zstd (the framing of pages, also used for binary COPY pages).
pub fn compress_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 3 + 16);
    out.extend_from_slice(COMPRESSED_MAGIC);
    out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    // Level 1: transfers are bound by the databases, not the network; fast beats small here.
    out.extend_from_slice(&zstd::bulk::compress(raw, 1).expect("zstd compresses any input"));
    out
}

/// The inverse of [`compress_bytes`], size-capped (a hostile header cannot make it allocate more than
/// [`MAX_PAGE_BYTES`]).
/// Uncompressed framing ([`frame_bytes`] with [`Compression::None`]) is read too, in place (its bytes are not
/// copied): its size must be what follows.
pub fn decompress_bytes(data: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, EngineError> {
    if data.len() < 12 || (&data[..4] != COMPRESSED_MAGIC && &data[..4] != RAW_MAGIC) {
        return Err(bad("not a compressed page (bad magic)"));
    }
    let size = u64::from_le_bytes(data[4..12].try_into().unwrap());
    if size > MAX_PAGE_BYTES as u64 {
        return Err(bad(&format!("page of {size} bytes exceeds the {MAX_PAGE_BYTES}-byte limit")));
    }
    if &data[..4] == RAW_MAGIC {
        if size != (data.len() - 12) as u64 {
            return Err(bad(&format!("the header says {size} bytes, {} follow", data.len() - 12)));
        }
        return Ok(std::borrow::Cow::Borrowed(&data[12..]));
    }
    let raw = zstd::bulk::decompress(&data[12..], size as usize).map_err(|e| bad(&format!("zstd: {e}")))?;
    if raw.len() as u64 != size {
        return Err(bad("decompressed size differs from the header"));
    }
    Ok(std::borrow::Cow::Owned(raw))
}

#[cfg(test)]
mod tests {
    use protocol::page::PageColumn;
    use protocol::value::{Value, ValueKind};

    use super::*;

    fn sample() -> Page {
        Page {
            columns: vec![
                PageColumn { name: "id".into(), kind: ValueKind::Int, source_type: "bigint".into() },
                PageColumn { name: "t".into(), kind: ValueKind::Text, source_type: "text".into() },
            ],
            rows: vec![vec![Value::Int(i64::MIN), Value::Text("é\t\n\"'\\ 🚀".into())], vec![Value::Null, Value::Null]],
        }
    }

    #[test]
    fn compressed_pages_round_trip_exactly() {
        let page = sample();
        assert_eq!(Page::decompress(&page.compress()).unwrap(), page);
    }

    #[test]
    fn a_lying_size_header_or_a_bad_magic_is_refused_before_allocating() {
        let mut huge = sample().compress();
        huge[4..12].copy_from_slice(&(u64::MAX).to_le_bytes());
        assert!(matches!(Page::decompress(&huge), Err(EngineError::MalformedPage(m)) if m.contains("limit")));
        assert!(Page::decompress(b"DBTZ").is_err());
        let mut short = sample().compress();
        short[4..12].copy_from_slice(&(1u64).to_le_bytes());
        assert!(Page::decompress(&short).is_err());
    }

    #[test]
    fn uncompressed_pages_round_trip_and_their_size_must_be_what_follows() {
        let page = sample();
        let raw = frame_bytes(&page.encode(), Compression::None);
        assert_eq!(raw.len(), page.encode().len() + 12);
        assert_eq!(Page::decompress(&raw).unwrap(), page);
        assert_eq!(Page::decompress(&frame_bytes(&page.encode(), Compression::Zstd)).unwrap(), page);
        for lie in [0u64, raw.len() as u64, (raw.len() - 13) as u64, u64::MAX] {
            let mut lying = raw.clone();
            lying[4..12].copy_from_slice(&lie.to_le_bytes());
            assert!(matches!(Page::decompress(&lying), Err(EngineError::MalformedPage(_))), "{lie}");
        }
        // The raw framing around a page that does not decode is still a bad page, named.
        let garbage = frame_bytes(b"not a page", Compression::None);
        assert!(matches!(Page::decompress(&garbage), Err(EngineError::MalformedPage(_))));
    }
}
