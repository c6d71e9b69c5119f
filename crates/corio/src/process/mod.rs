//! Child processes whose pipes and exit are awaited on the reactor (being written, issue 3).
