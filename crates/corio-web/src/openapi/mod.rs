//! OpenAPI: the application's description, and the documentation pages that show it.

pub mod ui;
