//! What the fuzz targets share: a paused-clock tokio runtime and the HTTP-like text format
//! their seeds are written in.
//!
//! A request is written as
//!
//! ```text
//! <first line>
//! name: value
//! name: value
//!
//! <body bytes>
//! ```
//!
//! and one input may hold several, separated by a line `====`. The emulator target reads the
//! first line as `X-Amz-Target`, the ingest target as `METHOD /path`. Seeds are then plain
//! text a person can read and write, and libFuzzer's mutations (with the dictionaries) still
//! reach every byte of the headers and the body.

use tokio::runtime::Runtime;

/// The separator between requests of one input.
pub const SEPARATOR: &[u8] = b"\n====\n";

/// At most this many requests of one input are run: more only slows an execution down.
pub const MAX_REQUESTS: usize = 8;

/// One request as written in an input.
#[derive(Debug)]
pub struct TextRequest<'a> {
    pub first_line: &'a [u8],
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    pub body: &'a [u8],
}

/// Splits an input into its requests (at most [`MAX_REQUESTS`]).
pub fn requests(data: &[u8]) -> Vec<TextRequest<'_>> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < MAX_REQUESTS {
        let (part, next) = match find(rest, SEPARATOR) {
            Some(at) => (&rest[..at], Some(&rest[at + SEPARATOR.len()..])),
            None => (rest, None),
        };
        out.push(request(part));
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

fn request(part: &[u8]) -> TextRequest<'_> {
    let (head, body) = match find(part, b"\n\n") {
        Some(at) => (&part[..at], &part[at + 2..]),
        None => (part, &b""[..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first_line = lines.next().unwrap_or_default();
    let headers = lines
        .map(|line| match find(line, b":") {
            Some(at) => (&line[..at], trim(&line[at + 1..])),
            None => (line, &b""[..]),
        })
        .collect();
    TextRequest {
        first_line,
        headers,
        body,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    &bytes[start..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A current-thread runtime with tokio's clock paused: a long poll or an SDK backoff
/// auto-advances instead of waiting, so an execution's wall time is its CPU time and a hang is
/// a real one (a future that never completes runs into libFuzzer's `-timeout`).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}
