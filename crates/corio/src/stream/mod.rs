//! Streams: async generators (the `yield` style of coroutine) and stream helpers.
//! (Being written, issue 4.)
