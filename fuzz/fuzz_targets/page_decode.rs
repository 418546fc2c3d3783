//! Page decoding (`protocol::page`), as a receiver meets a page from a sender: uncompressed (`Page::decode`, also
//! what a cursor is) and as it travels (`Page::decompress`). Never a panic; a page that decodes encodes back to
//! bytes that decode to the same encoding, and its JSON view builds.
#![no_main]

use engine::compress::PageCompression;
use protocol::page::Page;
use libfuzzer_sys::fuzz_target;

fn check(page: Page) {
    let encoded = page.encode();
    let again = Page::decode(&encoded).expect("an encoded page decodes");
    assert_eq!(
        again.encode(),
        encoded,
        "decode ∘ encode is the identity on encodings"
    );
    assert_eq!(again.rows.len(), page.rows.len());
    let _ = page.to_json();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = Page::decode(data) {
        check(page);
    }
    if let Ok(page) = Page::decompress(data) {
        check(page);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = protocol::messages::decode_cursor(text);
    }
});
