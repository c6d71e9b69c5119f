//! What the API reads and answers: each type is at once the validation (a value that
//! breaks a constraint is a 422 before any handler runs) and the OpenAPI schema (the same
//! constraints show as `minLength`, `maxItems`, ...). Doc comments become descriptions.

use corio_web::extract::{Between, Constrained};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::store::{NoteChanges, NoteFields};

corio_web::constraint! {
    /// A title: 1 to 200 characters, not only spaces.
    pub Title: min_length(1), max_length(200), pattern("\\S");
    /// A body: at most 10 000 characters.
    pub BodyText: max_length(10_000);
    /// A tag: 1 to 32 letters, digits, `_` or `-`.
    pub Tag: min_length(1), max_length(32), pattern("^[\\w-]+$");
    /// At most 10 tags.
    pub TagList: max_length(10);
    /// A search text: 1 to 200 characters.
    pub SearchText: min_length(1), max_length(200);
}

/// The most notes one page holds.
pub const MAX_LIMIT: u32 = 100;
/// The notes a page holds unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 20;

/// A note's tags: at most 10, each 1 to 32 characters.
pub type Tags = Constrained<Vec<Constrained<String, Tag>>, TagList>;

/// A note, as stored.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct Note {
    /// Assigned by the server; never reused.
    pub id: i64,
    /// The title: 1 to 200 characters.
    pub title: String,
    /// Free text, possibly empty.
    pub body: String,
    /// In the order given, without repeats.
    pub tags: Vec<String>,
    /// Whether it is done.
    pub done: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was last changed (RFC 3339, UTC).
    pub updated_at: String,
}

/// A new note (`POST /notes`), or a note's new content (`PUT /notes/{id}`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoteCreate {
    /// 1 to 200 characters.
    pub title: Constrained<String, Title>,
    /// Free text, at most 10 000 characters.
    #[serde(default)]
    pub body: Constrained<String, BodyText>,
    /// Up to 10 tags of letters, digits, `_` and `-`; repeats are dropped.
    #[serde(default)]
    pub tags: Tags,
    /// Whether it is done.
    #[serde(default)]
    pub done: bool,
}

impl NoteCreate {
    /// The fields as the store writes them.
    pub fn into_fields(self) -> NoteFields {
        NoteFields {
            title: self.title.into_inner(),
            body: self.body.into_inner(),
            tags: unique_tags(self.tags),
            done: self.done,
        }
    }
}

/// Changes to a note (`PATCH /notes/{id}`): only the fields given change; a field that
/// is absent or `null` is left as it is.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct NoteUpdate {
    /// 1 to 200 characters.
    #[serde(default)]
    pub title: Option<Constrained<String, Title>>,
    /// At most 10 000 characters.
    #[serde(default)]
    pub body: Option<Constrained<String, BodyText>>,
    /// Replaces every tag (`[]` removes them all).
    #[serde(default)]
    pub tags: Option<Tags>,
    /// Whether it is done.
    #[serde(default)]
    pub done: Option<bool>,
}

impl NoteUpdate {
    /// The changes as the store applies them.
    pub fn into_changes(self) -> NoteChanges {
        NoteChanges {
            title: self.title.map(Constrained::into_inner),
            body: self.body.map(Constrained::into_inner),
            tags: self.tags.map(unique_tags),
            done: self.done,
        }
    }
}

/// The tags in the order given, each once.
fn unique_tags(tags: Tags) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags.into_inner() {
        let tag = tag.into_inner();
        if !unique.contains(&tag) {
            unique.push(tag);
        }
    }
    unique
}

/// `GET /notes`' query: paging, filters and search.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListParams {
    /// How many notes to return, 1 to 100.
    #[serde(default = "default_limit")]
    pub limit: Constrained<u32, Between<1, 100>>,
    /// How many matching notes to skip first.
    #[serde(default)]
    pub offset: u32,
    /// Only notes that are (`true`) or are not (`false`) done.
    pub done: Option<bool>,
    /// Only notes with this tag.
    pub tag: Option<Constrained<String, Tag>>,
    /// Only notes whose title or body contains this text (ASCII letters in any case).
    pub q: Option<Constrained<String, SearchText>>,
}

fn default_limit() -> Constrained<u32, Between<1, 100>> {
    Constrained::new(DEFAULT_LIMIT).expect("the default limit is within 1..=100")
}

/// One page of notes, newest first.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Page {
    /// The notes of this page.
    pub items: Vec<Note>,
    /// How many notes match, on every page.
    pub total: u64,
    /// The `limit` asked for (or the default).
    pub limit: u32,
    /// The `offset` asked for.
    pub offset: u32,
}

/// The body of an error answer: `{"detail": "Note not found"}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// What went wrong.
    pub detail: String,
}

/// `GET /health`'s answer.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Health {
    /// `"ok"`.
    pub status: String,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// How many notes there are.
    pub notes: u64,
    /// The server's version.
    pub version: String,
}

/// `GET /`'s answer: where to go from here.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Welcome {
    /// `corio-demo`.
    pub name: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// Swagger UI: try the API in a browser.
    pub docs: &'static str,
    /// ReDoc: the same document, for reading.
    pub redoc: &'static str,
    /// The OpenAPI document itself.
    pub openapi: &'static str,
    /// The notes.
    pub notes: &'static str,
    /// The health check.
    pub health: &'static str,
}
