//! Request-head parsing and framing: never panics, and agrees with itself.
//!
//! The first byte picks the limits (so they are fuzzed too); the rest is the request.

#![no_main]

use corio_web::server::fuzzing::{BodyFraming, HeadError, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, input)) = data.split_first() else {
        return;
    };
    let max_len = 64 + usize::from(knob) * 32;
    let max_headers = 1 + usize::from(knob % 64);
    match parse_request(input, max_len, max_headers) {
        Ok(Some((head, framing))) => {
            assert!(head.headers().len() <= max_headers);
            if let Ok(framing) = framing {
                // A zero length is "no body"; chunked only for HTTP/1.1.
                assert_ne!(framing.body, BodyFraming::Length(0));
                if framing.body == BodyFraming::Chunked {
                    assert_eq!(head.version(), http_11());
                }
            }
        }
        Ok(None) => assert!(input.len() <= max_len, "an incomplete head past the limit"),
        Err(HeadError::TooLarge | HeadError::Invalid(_)) => {}
    }
});

fn http_11() -> corio_web::http::Version {
    corio_web::http::Version::HTTP_11
}
