//! The notes in SQLite: the schema and its migration, and every query the API makes.
//!
//! Every method blocks (SQLite is a synchronous library): call them from plain `fn`
//! handlers, which corio-web runs on the blocking pool, or through `corio::to_thread`
//! from async code. Never from an `async fn` directly: that would stop the event loop.
//!
//! # One connection behind a mutex
//!
//! SQLite lets one writer in at a time anyway, and the demo's queries take microseconds,
//! so one connection behind a [`Mutex`] serves it well and keeps each method's reads
//! consistent (nothing else in the process writes between a page and its count). A
//! service with heavy reads would add a few read-only connections, which WAL mode lets
//! run beside the writer. A poisoned mutex is taken over: a panic inside a method drops
//! its transaction, which rolls back, so the connection is left consistent.
//!
//! # Schema
//!
//! `notes` holds the notes; `note_tags` their tags, one row each, so filtering by tag is
//! an index lookup. `PRAGMA user_version` records the schema's version: opening a
//! database migrates it from whatever version it has (0: empty) to [`SCHEMA_VERSION`],
//! and refuses one written by a newer demo.
//!
//! Deleting a note only marks it (`deleted_at`); reads skip marked notes, and the
//! background sweeper ([`crate::background`]) removes them with their tags in one
//! transaction every few seconds. So `DELETE` costs one small `UPDATE` on the request
//! path, and the real deletes (index updates in two tables, one commit) are batched.
//!
//! Timestamps are RFC 3339 text in UTC, made by SQLite (`strftime`), which sorts as text
//! in time order.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::config::DbLocation;
use crate::models::Note;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Version 1: notes, their tags, and an index for each filter.
const SCHEMA_V1: &str = "
CREATE TABLE notes (
    -- AUTOINCREMENT: the id of a purged note is never given to a new one.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL DEFAULT '',
    done       INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    deleted_at TEXT
);
CREATE INDEX notes_deleted ON notes (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE note_tags (
    note_id  INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tag      TEXT    NOT NULL,
    PRIMARY KEY (note_id, tag)
) WITHOUT ROWID;
CREATE INDEX note_tags_by_tag ON note_tags (tag, note_id);
";

/// Now, as RFC 3339 with milliseconds (`2025-01-31T12:00:00.000Z`).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// The columns of a [`Note`], in [`note_from_row`]'s order; `n` is `notes`. The tags come
/// as a JSON array, in their position order.
const NOTE_COLUMNS: &str = "n.id, n.title, n.body, n.done, n.created_at, n.updated_at,
    (SELECT json_group_array(tag)
       FROM (SELECT tag FROM note_tags WHERE note_id = n.id ORDER BY position)) AS tags";

/// What can go wrong in the store.
#[derive(Debug)]
pub enum StoreError {
    /// The store was closed (the server is shutting down).
    Closed,
    /// The database file was written by a newer version of the demo.
    NewerSchema(i64),
    /// SQLite failed.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Closed => f.write_str("the database is closed"),
            StoreError::NewerSchema(version) => write!(
                f,
                "the database has schema version {version}; this build knows up to \
                 {SCHEMA_VERSION}"
            ),
            StoreError::Sqlite(error) => write!(f, "SQLite: {error}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(error) => Some(error),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(error)
    }
}

/// The store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A note's fields, as `POST` and `PUT` set them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoteFields {
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
    /// The tags, without repeats.
    pub tags: Vec<String>,
    /// Whether it is done.
    pub done: bool,
}

/// Changes to a note, as `PATCH` makes them: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoteChanges {
    /// A new title.
    pub title: Option<String>,
    /// A new body.
    pub body: Option<String>,
    /// New tags, replacing all of them; without repeats.
    pub tags: Option<Vec<String>>,
    /// A new done flag.
    pub done: Option<bool>,
}

/// Which notes a list returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// At most this many (the caller bounds it).
    pub limit: u32,
    /// After skipping this many.
    pub offset: u32,
    /// Only those done (or not).
    pub done: Option<bool>,
    /// Only those with this tag.
    pub tag: Option<String>,
    /// Only those whose title or body contains this text.
    pub q: Option<String>,
}

/// The notes, in SQLite. See the module docs.
pub struct Store {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    /// Where the database is, for logs.
    location: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating it if needed) and migrates the database at `location`.
    pub fn open(location: &DbLocation) -> Result<Store> {
        let conn = match location {
            DbLocation::Memory => Connection::open_in_memory()?,
            DbLocation::File(path) => {
                let conn = Connection::open(path)?;
                // WAL: readers do not wait for the writer, and a commit is one append;
                // with it, `synchronous = NORMAL` is safe against crashes of the process
                // (only a power loss can cost the last commits).
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn
            }
        };
        // Another process on the same file: wait for its lock rather than fail at once.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(Some(conn)),
            location: location.to_string(),
        })
    }

    /// An empty database in memory.
    pub fn open_in_memory() -> Result<Store> {
        Store::open(&DbLocation::Memory)
    }

    /// Where the database is (`:memory:` or a path).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `f` on the connection, in a transaction committed if `f` succeeds.
    fn with_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.lock();
        let conn = guard.as_mut().ok_or(StoreError::Closed)?;
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        // See the module docs: a panic cannot have left a transaction half-done.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a note; returns it as stored.
    pub fn create(&self, fields: &NoteFields) -> Result<Note> {
        self.with_tx(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO notes (title, body, done, created_at, updated_at)
                     VALUES (?1, ?2, ?3, {NOW}, {NOW})"
                ),
                params![fields.title, fields.body, fields.done],
            )?;
            let id = tx.last_insert_rowid();
            set_tags(tx, id, &fields.tags)?;
            fetch(tx, id)?.ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
        })
    }

    /// The note `id`, unless it does not exist or was deleted.
    pub fn get(&self, id: i64) -> Result<Option<Note>> {
        self.with_tx(|tx| fetch(tx, id))
    }

    /// One page of the notes `filter` selects, newest first, and how many it selects in
    /// all.
    pub fn list(&self, filter: &ListFilter) -> Result<(Vec<Note>, u64)> {
        // `?n IS NULL OR ...`: one statement (prepared once, cached) for every
        // combination of filters.
        const WHERE: &str = "n.deleted_at IS NULL
            AND (?1 IS NULL OR n.done = ?1)
            AND (?2 IS NULL OR EXISTS
                    (SELECT 1 FROM note_tags t WHERE t.note_id = n.id AND t.tag = ?2))
            AND (?3 IS NULL OR n.title LIKE ?3 ESCAPE '\\' OR n.body LIKE ?3 ESCAPE '\\')";
        let pattern = filter.q.as_deref().map(like_pattern);
        let filters = params![filter.done, filter.tag, pattern];
        self.with_tx(|tx| {
            let total = tx
                .prepare_cached(&format!("SELECT count(*) FROM notes n WHERE {WHERE}"))?
                .query_row(filters, count_from_row)?;
            let mut page = tx.prepare_cached(&format!(
                "SELECT {NOTE_COLUMNS} FROM notes n WHERE {WHERE}
                 ORDER BY n.id DESC LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = page.query_map(
                params![
                    filter.done,
                    filter.tag,
                    pattern,
                    filter.limit,
                    filter.offset
                ],
                note_from_row,
            )?;
            let notes = rows.collect::<rusqlite::Result<Vec<Note>>>()?;
            Ok((notes, total))
        })
    }

    /// Applies `changes` to note `id`; the note as changed, or `None` if there is no
    /// such note.
    pub fn update(&self, id: i64, changes: &NoteChanges) -> Result<Option<Note>> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                &format!(
                    "UPDATE notes SET title = coalesce(?2, title), body = coalesce(?3, body),
                         done = coalesce(?4, done), updated_at = {NOW}
                     WHERE id = ?1 AND deleted_at IS NULL"
                ),
                params![id, changes.title, changes.body, changes.done],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            if let Some(tags) = &changes.tags {
                set_tags(tx, id, tags)?;
            }
            fetch(tx, id)
        })
    }

    /// Replaces every field of note `id`; the note as changed, or `None` if there is no
    /// such note.
    pub fn replace(&self, id: i64, fields: &NoteFields) -> Result<Option<Note>> {
        let changes = NoteChanges {
            title: Some(fields.title.clone()),
            body: Some(fields.body.clone()),
            tags: Some(fields.tags.clone()),
            done: Some(fields.done),
        };
        self.update(id, &changes)
    }

    /// Deletes note `id` (marks it: see the module docs); `false` if there is no such
    /// note.
    pub fn delete(&self, id: i64) -> Result<bool> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                &format!(
                    "UPDATE notes SET deleted_at = {NOW} WHERE id = ?1 AND deleted_at IS NULL"
                ),
                [id],
            )?;
            Ok(changed > 0)
        })
    }

    /// Removes the deleted notes for good, with their tags; how many.
    pub fn purge_deleted(&self) -> Result<usize> {
        // The tags go by `ON DELETE CASCADE`.
        self.with_tx(|tx| Ok(tx.execute("DELETE FROM notes WHERE deleted_at IS NOT NULL", [])?))
    }

    /// How many notes there are (not counting deleted ones).
    pub fn count(&self) -> Result<u64> {
        self.with_tx(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM notes WHERE deleted_at IS NULL",
                [],
                count_from_row,
            )?)
        })
    }

    /// How many deleted notes wait for the sweeper.
    pub fn count_deleted(&self) -> Result<u64> {
        self.with_tx(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM notes WHERE deleted_at IS NOT NULL",
                [],
                count_from_row,
            )?)
        })
    }

    /// Closes the database: moves the WAL's pages into the main file (so the file alone
    /// holds everything, and the next start replays nothing), then closes the connection.
    /// Every later call answers [`StoreError::Closed`]. Closing twice is harmless.
    pub fn close(&self) -> Result<()> {
        let Some(conn) = self.lock().take() else {
            return Ok(());
        };
        // `optimize`: SQLite's advice for a closing connection (refreshes the planner's
        // statistics where they are stale). Best effort, as is the checkpoint: the data is
        // safe in the WAL either way.
        if let Err(error) = conn.execute_batch("PRAGMA optimize;") {
            tracing::warn!(%error, "store: PRAGMA optimize failed");
        }
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!(%error, "store: the WAL checkpoint failed");
        }
        conn.close().map_err(|(_, error)| StoreError::Sqlite(error))
    }
}

/// Brings the schema from its version to [`SCHEMA_VERSION`], in one transaction.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    // One step per version; a later schema adds `if version < 2 { ... }`.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| {
        if version < 1 {
            conn.execute_batch(SCHEMA_V1)?;
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        conn.execute_batch("COMMIT")
    })();
    if migrated.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    migrated?;
    tracing::info!(
        from = version,
        to = SCHEMA_VERSION,
        "store: schema migrated"
    );
    Ok(())
}

/// The live note `id`.
fn fetch(tx: &Transaction<'_>, id: i64) -> Result<Option<Note>> {
    let mut statement = tx.prepare_cached(&format!(
        "SELECT {NOTE_COLUMNS} FROM notes n WHERE n.id = ?1 AND n.deleted_at IS NULL"
    ))?;
    Ok(statement.query_row([id], note_from_row).optional()?)
}

/// Replaces the tags of note `id` with `tags` (which has no repeats).
fn set_tags(tx: &Transaction<'_>, id: i64, tags: &[String]) -> Result<()> {
    tx.execute("DELETE FROM note_tags WHERE note_id = ?1", [id])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO note_tags (note_id, position, tag) VALUES (?1, ?2, ?3)")?;
    for (position, tag) in tags.iter().enumerate() {
        insert.execute(params![id, position as i64, tag])?;
    }
    Ok(())
}

/// A `count(*)`: SQLite's integers are `i64`, and a count is never negative.
fn count_from_row(row: &Row<'_>) -> rusqlite::Result<u64> {
    let count: i64 = row.get(0)?;
    Ok(count.unsigned_abs())
}

fn note_from_row(row: &Row<'_>) -> rusqlite::Result<Note> {
    let tags: String = row.get(6)?;
    let tags = serde_json::from_str(&tags).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, error.into())
    })?;
    Ok(Note {
        id: row.get(0)?,
        title: row.get(1)?,
        body: row.get(2)?,
        done: row.get(3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        tags,
    })
}

/// The `LIKE` pattern matching any text that contains `text`: `%text%`, with `text`'s own
/// `%`, `_` and `\` escaped (by `\`, the statements' `ESCAPE` character) so that they
/// match only themselves.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(title: &str, body: &str, tags: &[&str], done: bool) -> NoteFields {
        NoteFields {
            title: title.to_owned(),
            body: body.to_owned(),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            done,
        }
    }

    fn list(store: &Store, filter: ListFilter) -> (Vec<String>, u64) {
        let (notes, total) = store.list(&filter).unwrap();
        (notes.into_iter().map(|note| note.title).collect(), total)
    }

    fn page(limit: u32, offset: u32) -> ListFilter {
        ListFilter {
            limit,
            offset,
            ..ListFilter::default()
        }
    }

    #[test]
    fn create_get_update_delete() {
        let store = Store::open_in_memory().unwrap();
        let note = store
            .create(&fields("Groceries", "eggs", &["home", "food"], false))
            .unwrap();
        assert_eq!(note.title, "Groceries");
        assert_eq!(note.tags, ["home", "food"]);
        assert!(!note.done);
        assert_eq!(note.created_at, note.updated_at);
        assert!(note.created_at.ends_with('Z') && note.created_at.contains('T'));
        assert_eq!(store.get(note.id).unwrap(), Some(note.clone()));

        let changes = NoteChanges {
            done: Some(true),
            tags: Some(vec!["food".into()]),
            ..NoteChanges::default()
        };
        let updated = store.update(note.id, &changes).unwrap().unwrap();
        assert!(updated.done);
        assert_eq!(updated.tags, ["food"]);
        assert_eq!(updated.title, "Groceries", "untouched");
        assert_eq!(updated.body, "eggs", "untouched");

        let replaced = store
            .replace(note.id, &fields("Shopping", "", &[], false))
            .unwrap()
            .unwrap();
        assert_eq!(
            (replaced.title.as_str(), replaced.body.as_str()),
            ("Shopping", "")
        );
        assert!(replaced.tags.is_empty());

        assert!(store.delete(note.id).unwrap());
        assert!(!store.delete(note.id).unwrap(), "already deleted");
        assert_eq!(store.get(note.id).unwrap(), None);
        assert_eq!(store.update(note.id, &changes).unwrap(), None);
        assert_eq!(store.count().unwrap(), 0);
    }

    #[test]
    fn purging_removes_deleted_notes_and_their_tags_only() {
        let store = Store::open_in_memory().unwrap();
        let keep = store.create(&fields("keep", "", &["a"], false)).unwrap();
        let drop = store
            .create(&fields("drop", "", &["a", "b"], false))
            .unwrap();
        store.delete(drop.id).unwrap();
        assert_eq!(store.count_deleted().unwrap(), 1);
        assert_eq!(store.purge_deleted().unwrap(), 1);
        assert_eq!(store.purge_deleted().unwrap(), 0);
        assert_eq!(store.count_deleted().unwrap(), 0);
        assert_eq!(store.get(keep.id).unwrap().unwrap().tags, ["a"]);
        let tag_rows: i64 = store
            .lock()
            .as_ref()
            .unwrap()
            .query_row("SELECT count(*) FROM note_tags", [], |row| row.get(0))
            .unwrap();
        assert_eq!(tag_rows, 1, "the purged note's tags went with it");
        // Ids are not reused.
        let next = store.create(&fields("next", "", &[], false)).unwrap();
        assert!(next.id > drop.id);
    }

    #[test]
    fn pages_are_newest_first_and_bounded() {
        let store = Store::open_in_memory().unwrap();
        for i in 1..=5 {
            store
                .create(&fields(&format!("n{i}"), "", &[], false))
                .unwrap();
        }
        assert_eq!(
            list(&store, page(2, 0)),
            (vec!["n5".into(), "n4".into()], 5)
        );
        assert_eq!(
            list(&store, page(2, 2)),
            (vec!["n3".into(), "n2".into()], 5)
        );
        assert_eq!(list(&store, page(2, 4)), (vec!["n1".into()], 5));
        assert_eq!(list(&store, page(2, 5)), (vec![], 5), "past the end: empty");
        assert_eq!(list(&store, page(100, u32::MAX)), (vec![], 5));
    }

    #[test]
    fn filters_combine() {
        let store = Store::open_in_memory().unwrap();
        store
            .create(&fields("Buy milk", "", &["home"], true))
            .unwrap();
        store
            .create(&fields("Fix bike", "chain", &["home", "repair"], false))
            .unwrap();
        store
            .create(&fields("Write report", "for work", &["work"], false))
            .unwrap();
        let filter = |done, tag: Option<&str>, q: Option<&str>| ListFilter {
            limit: 10,
            offset: 0,
            done,
            tag: tag.map(str::to_owned),
            q: q.map(str::to_owned),
        };
        assert_eq!(
            list(&store, filter(None, Some("home"), None)),
            (vec!["Fix bike".into(), "Buy milk".into()], 2)
        );
        assert_eq!(
            list(&store, filter(Some(false), Some("home"), None)),
            (vec!["Fix bike".into()], 1)
        );
        assert_eq!(
            list(&store, filter(Some(true), None, None)),
            (vec!["Buy milk".into()], 1)
        );
        // Title or body, ASCII case ignored.
        assert_eq!(
            list(&store, filter(None, None, Some("WORK"))),
            (vec!["Write report".into()], 1)
        );
        assert_eq!(
            list(&store, filter(None, None, Some("chain"))),
            (vec!["Fix bike".into()], 1)
        );
        assert_eq!(list(&store, filter(None, Some("nope"), None)), (vec![], 0));
    }

    #[test]
    fn search_text_is_literal() {
        let store = Store::open_in_memory().unwrap();
        store.create(&fields("100% done", "", &[], false)).unwrap();
        store
            .create(&fields("1000 things", "", &[], false))
            .unwrap();
        store.create(&fields("snake_case", "", &[], false)).unwrap();
        store.create(&fields("snakeXcase", "", &[], false)).unwrap();
        store
            .create(&fields(r"back\slash", "", &[], false))
            .unwrap();
        let search = |q: &str| {
            let filter = ListFilter {
                limit: 10,
                q: Some(q.to_owned()),
                ..ListFilter::default()
            };
            list(&store, filter)
        };
        // Unescaped, `%` and `_` would be wildcards and match the others too.
        assert_eq!(search("0%"), (vec!["100% done".into()], 1));
        assert_eq!(search("e_c"), (vec!["snake_case".into()], 1));
        assert_eq!(search("%"), (vec!["100% done".into()], 1));
        assert_eq!(search("_"), (vec!["snake_case".into()], 1));
        assert_eq!(search(r"k\s"), (vec![r"back\slash".into()], 1));
        assert_eq!(search("snake").1, 2);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("abc"), "%abc%");
        assert_eq!(like_pattern("50%"), r"%50\%%");
        assert_eq!(like_pattern("a_b"), r"%a\_b%");
        assert_eq!(like_pattern(r"a\b"), r"%a\\b%");
        assert_eq!(like_pattern(""), "%%");
    }

    #[test]
    fn files_persist_and_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        let location = DbLocation::File(path.clone());
        let store = Store::open(&location).unwrap();
        let note = store
            .create(&fields("kept", "across opens", &["x"], true))
            .unwrap();
        store.close().unwrap();
        store.close().unwrap();
        assert!(matches!(store.count(), Err(StoreError::Closed)));
        // Checkpointed: the WAL is empty (or gone) once closed.
        let wal = dir.path().join("notes.db-wal");
        assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

        let reopened = Store::open(&location).unwrap();
        assert_eq!(reopened.get(note.id).unwrap(), Some(note));
        reopened.close().unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let error = Store::open(&DbLocation::File(path)).unwrap_err();
        assert!(matches!(error, StoreError::NewerSchema(v) if v == SCHEMA_VERSION + 1));
    }
}
