//! `/notes`: create, read, list, change and delete notes.
//!
//! Every handler here is a plain `fn`: it calls SQLite, so it runs on the blocking pool
//! (see [the rule](super)). Writes take `Depends<WriteAccess>` (a bearer token);
//! reads are open.

use corio_web::depends::Depends;
use corio_web::extract::{Json, Path, Query, State};
use corio_web::http::StatusCode;
use corio_web::{HttpError, Router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::store_error;
use crate::app::AppState;
use crate::auth::WriteAccess;
use crate::models::{ErrorDetail, ListParams, Note, NoteCreate, NoteUpdate, Page};
use crate::store::ListFilter;

/// The routes, under `/notes`, tagged `notes`.
pub fn router() -> Router<AppState> {
    Router::new()
        .prefix("/notes")
        .tag("notes")
        .get("", list_notes)
        .post("", create_note)
        .get("/{id}", read_note)
        .patch("/{id}", update_note)
        .put("/{id}", replace_note)
        .delete("/{id}", delete_note)
}

/// `/notes/{id}`'s parameter.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoteId {
    /// The note's id.
    pub id: i64,
}

/// The 404 of a note that does not exist (or was deleted).
fn not_found() -> HttpError {
    HttpError::new(404, "Note not found")
}

/// List notes
///
/// Newest first: `limit` notes (1 to 100, 20 unless told) after skipping `offset`.
/// `done`, `tag` and `q` (a text the title or the body contains) narrow the list;
/// `total` counts every note that matches, for paging.
#[corio_web::operation]
fn list_notes(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page>, HttpError> {
    let filter = ListFilter {
        limit: *params.limit,
        offset: params.offset,
        done: params.done,
        tag: params.tag.map(|tag| tag.into_inner()),
        q: params.q.map(|q| q.into_inner()),
    };
    let (items, total) = state.store.list(&filter).map_err(store_error)?;
    Ok(Json(Page {
        items,
        total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

/// Create a note
///
/// Answers the note as stored, with its id and timestamps.
#[corio_web::operation(
    status = 201,
    responses(401 = (ErrorDetail, "No bearer token, or a wrong one"))
)]
fn create_note(
    State(state): State<AppState>,
    _access: Depends<WriteAccess>,
    Json(new): Json<NoteCreate>,
) -> Result<Json<Note>, HttpError> {
    let note = state
        .store
        .create(&new.into_fields())
        .map_err(store_error)?;
    tracing::info!(id = note.id, "notes: created");
    Ok(Json(note))
}

/// Read a note
#[corio_web::operation(responses(404 = (ErrorDetail, "No such note")))]
fn read_note(
    State(state): State<AppState>,
    Path(NoteId { id }): Path<NoteId>,
) -> Result<Json<Note>, HttpError> {
    let note = state.store.get(id).map_err(store_error)?;
    note.map(Json).ok_or_else(not_found)
}

/// Change a note
///
/// Only the fields given change; `tags`, if given, replaces every tag.
#[corio_web::operation(responses(
    401 = (ErrorDetail, "No bearer token, or a wrong one"),
    404 = (ErrorDetail, "No such note")
))]
fn update_note(
    State(state): State<AppState>,
    _access: Depends<WriteAccess>,
    Path(NoteId { id }): Path<NoteId>,
    Json(changes): Json<NoteUpdate>,
) -> Result<Json<Note>, HttpError> {
    let note = state
        .store
        .update(id, &changes.into_changes())
        .map_err(store_error)?;
    note.map(Json).ok_or_else(not_found)
}

/// Replace a note
///
/// Every field is set: those left out take their defaults (`body` empty, no `tags`,
/// not `done`).
#[corio_web::operation(responses(
    401 = (ErrorDetail, "No bearer token, or a wrong one"),
    404 = (ErrorDetail, "No such note")
))]
fn replace_note(
    State(state): State<AppState>,
    _access: Depends<WriteAccess>,
    Path(NoteId { id }): Path<NoteId>,
    Json(new): Json<NoteCreate>,
) -> Result<Json<Note>, HttpError> {
    let note = state
        .store
        .replace(id, &new.into_fields())
        .map_err(store_error)?;
    note.map(Json).ok_or_else(not_found)
}

/// Delete a note
///
/// The note is gone at once for every read; the background sweeper removes it from the
/// database file shortly after.
#[corio_web::operation(
    status = 204,
    responses(
        401 = (ErrorDetail, "No bearer token, or a wrong one"),
        404 = (ErrorDetail, "No such note")
    )
)]
fn delete_note(
    State(state): State<AppState>,
    _access: Depends<WriteAccess>,
    Path(NoteId { id }): Path<NoteId>,
) -> Result<StatusCode, HttpError> {
    if !state.store.delete(id).map_err(store_error)? {
        return Err(not_found());
    }
    tracing::info!(id, "notes: deleted");
    Ok(StatusCode::NO_CONTENT)
}
