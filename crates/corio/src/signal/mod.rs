//! Unix signals as async events (being written, issue 3).
