//! Async I/O traits and the helpers built on them.
//!
//! corio does not define its own byte-stream traits: it uses the four from the `futures-io`
//! crate, which most of the async ecosystem already speaks, so a corio [`File`] (and later a
//! socket) works with any library written against them, and vice versa.
//!
//! - [`AsyncRead`] / [`AsyncWrite`]: the poll-based traits a type implements;
//! - [`AsyncBufRead`]: a reader with an internal buffer (lines, `read_until`);
//! - [`AsyncSeek`]: a cursor that can be moved.
//!
//! The `async fn` conveniences a program calls (`read_exact`, `read_to_end`, `write_all`,
//! `flush`, `lines`, `seek`, ...) come from the extension traits [`AsyncReadExt`],
//! [`AsyncWriteExt`], [`AsyncBufReadExt`] and [`AsyncSeekExt`], re-exported here from
//! `futures-util` together with the adapters [`BufReader`] and [`BufWriter`], the function
//! [`copy`], and the in-memory [`Cursor`], [`empty`], [`sink`] and [`repeat`]. Import the
//! extension traits to use the methods: `use corio::io_util::{AsyncReadExt, AsyncWriteExt};`.
//!
//! [`File`]: crate::fs::File
//!
//! # Reading
//!
//! `read_exact` fills a buffer or fails with `UnexpectedEof`; `read_to_end` drains a reader:
//!
//! ```
//! use corio::io_util::{AsyncReadExt, Cursor};
//!
//! corio::run(async {
//!     let mut reader = Cursor::new(b"header:payload".to_vec());
//!
//!     let mut header = [0u8; 7];
//!     reader.read_exact(&mut header).await.unwrap();
//!     assert_eq!(&header, b"header:");
//!
//!     let mut rest = Vec::new();
//!     reader.read_to_end(&mut rest).await.unwrap();
//!     assert_eq!(rest, b"payload");
//! });
//! ```
//!
//! # Writing and copying
//!
//! `write_all` writes every byte (looping over short writes); `copy` pumps a reader into a
//! writer and returns the byte count. Here with a [`File`], whose writes run in the
//! background, so the example ends with `flush` to wait for them:
//!
//! ```
//! use corio::fs::File;
//! use corio::io_util::{self, AsyncWriteExt, Cursor};
//!
//! corio::run(async {
//!     let path = std::env::temp_dir().join(format!("corio-io-doc-{}", std::process::id()));
//!
//!     let mut file = File::create(&path).await.unwrap();
//!     file.write_all(b"first line\n").await.unwrap();
//!     let copied = io_util::copy(Cursor::new(b"second line\n"), &mut file).await.unwrap();
//!     assert_eq!(copied, 12);
//!     file.flush().await.unwrap();
//!
//!     let text = corio::fs::read_to_string(&path).await.unwrap();
//!     assert_eq!(text, "first line\nsecond line\n");
//!     corio::fs::remove_file(&path).await.unwrap();
//! });
//! ```
//!
//! # Lines
//!
//! [`BufReader`] adds a buffer to any reader, which makes it an [`AsyncBufRead`]; `lines`
//! then yields each line (without its `\n` or `\r\n`) as a stream. Consume it with
//! `futures_util::StreamExt::next` as here, or call `read_line` in a loop instead:
//!
//! ```
//! use corio::io_util::{AsyncBufReadExt, BufReader, Cursor};
//! use futures_util::StreamExt;
//!
//! corio::run(async {
//!     let reader = BufReader::new(Cursor::new("GET / HTTP/1.1\r\nHost: example\r\n"));
//!     let mut lines = reader.lines();
//!
//!     let mut seen = Vec::new();
//!     while let Some(line) = lines.next().await {
//!         seen.push(line.unwrap());
//!     }
//!     assert_eq!(seen, ["GET / HTTP/1.1", "Host: example"]);
//! });
//! ```

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufWriter, Cursor,
    Lines, copy, empty, repeat, sink,
};
