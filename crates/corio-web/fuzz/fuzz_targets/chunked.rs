//! The chunked decoder: never panics, always makes progress, and gives the same data and
//! the same end (or error) however its input is split into reads.
//!
//! The first byte seeds the split points; the rest is the body on the wire.

#![no_main]

use corio_web::server::fuzzing::{ChunkedDecoder, ChunkedError, Step};
use libfuzzer_sys::fuzz_target;

/// Decoded data, and where the body ended (`Ok(None)`: it did not end in the input).
type Decoded = (Vec<u8>, Result<Option<usize>, ChunkedError>);

fn decode(input: &[u8], mut next_split: impl FnMut() -> usize) -> Decoded {
    let mut decoder = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut start = 0;
    let mut arrived = next_split().min(input.len());
    loop {
        let window = &input[start..arrived];
        match decoder.decode(window) {
            Ok(Step::Data { skip, len }) => {
                assert!(len > 0, "data steps carry data");
                assert!(skip + len <= window.len());
                data.extend_from_slice(&window[skip..skip + len]);
                start += skip + len;
            }
            Ok(Step::NeedMore) => {
                start = arrived;
                if arrived == input.len() {
                    return (data, Ok(None));
                }
                arrived = arrived.saturating_add(next_split().max(1)).min(input.len());
            }
            Ok(Step::Done(n)) => {
                assert!(n <= window.len());
                assert!(decoder.is_done());
                return (data, Ok(Some(start + n)));
            }
            Err(err) => return (data, Err(err)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let whole = decode(input, || usize::MAX);
    let mut state = u32::from(seed) | 1;
    let pieces = decode(input, || {
        // xorshift: cheap, deterministic split sizes from 1 to 16.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 16) as usize + 1
    });
    assert_eq!(whole, pieces);
    let bytewise = decode(input, || 1);
    assert_eq!(whole, bytewise);
});
