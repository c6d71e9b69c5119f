//! Where and why a body is not JSON, in the words of Python's `json` module, which is what
//! FastAPI reports (`ctx.error`, and the character offset in `loc`).
//!
//! serde_json finds the same documents invalid but words and places the error its own way,
//! so on that (rare) path this scanner walks the text as CPython's scanner does. It builds
//! nothing, and nests with a heap stack, so deep input cannot overflow the thread's stack.
//! Messages are those of Python 3.13 (which names trailing commas).

/// Python's complaint about `text`: the character offset and the message; `None` if Python
/// would accept it (it takes `NaN` and `Infinity`, which serde_json does not).
pub(crate) fn python_error(text: &str) -> Option<(usize, &'static str)> {
    let (byte, msg) = scan(text.as_bytes()).err()?;
    // Offsets are at ASCII bytes or the end, so always on a character boundary.
    let chars = text.get(..byte).map_or(byte, |s| s.chars().count());
    Some((chars, msg))
}

type Fail = (usize, &'static str);

enum Open {
    Array,
    Object,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

fn scan(b: &[u8]) -> Result<(), Fail> {
    let mut stack = Vec::new();
    let mut i = skip_ws(b, 0);
    'value: loop {
        // A value starts at `i`.
        match b.get(i) {
            Some(b'"') => i = string(b, i)?,
            Some(b'{') => {
                let j = skip_ws(b, i + 1);
                match b.get(j) {
                    Some(b'"') => {
                        i = key(b, j)?;
                        stack.push(Open::Object);
                        continue 'value;
                    }
                    Some(b'}') => i = j + 1,
                    _ => return Err((j, "Expecting property name enclosed in double quotes")),
                }
            }
            Some(b'[') => {
                let j = skip_ws(b, i + 1);
                if b.get(j) == Some(&b']') {
                    i = j + 1;
                } else {
                    stack.push(Open::Array);
                    i = j;
                    continue 'value;
                }
            }
            _ => i = literal(b, i).ok_or((i, "Expecting value"))?,
        }
        // A value ended at `i`: close what it completes, up to the next value.
        loop {
            let Some(open) = stack.last() else {
                let end = skip_ws(b, i);
                return if end == b.len() {
                    Ok(())
                } else {
                    Err((end, "Extra data"))
                };
            };
            i = skip_ws(b, i);
            let (close, trailing) = match open {
                Open::Array => (b']', "Illegal trailing comma before end of array"),
                Open::Object => (b'}', "Illegal trailing comma before end of object"),
            };
            match b.get(i) {
                Some(&c) if c == close => {
                    stack.pop();
                    i += 1;
                }
                Some(b',') => {
                    let comma = i;
                    let j = skip_ws(b, i + 1);
                    if b.get(j) == Some(&close) {
                        return Err((comma, trailing));
                    }
                    match open {
                        Open::Array => i = j,
                        Open::Object if b.get(j) == Some(&b'"') => i = key(b, j)?,
                        Open::Object => {
                            return Err((j, "Expecting property name enclosed in double quotes"));
                        }
                    }
                    continue 'value;
                }
                _ => return Err((i, "Expecting ',' delimiter")),
            }
        }
    }
}

/// An object key at `i` and its colon; returns where the value starts.
fn key(b: &[u8], i: usize) -> Result<usize, Fail> {
    let i = skip_ws(b, string(b, i)?);
    if b.get(i) != Some(&b':') {
        return Err((i, "Expecting ':' delimiter"));
    }
    Ok(skip_ws(b, i + 1))
}

/// A string whose quote is at `start`; returns the index after its closing quote.
fn string(b: &[u8], start: usize) -> Result<usize, Fail> {
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err((start, "Unterminated string starting at")),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match b.get(i + 1) {
                None => return Err((start, "Unterminated string starting at")),
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let u = i + 1;
                    let hex = b.get(u + 1..u + 5);
                    // CPython wants a character after the four digits, and a valid escape.
                    if u + 5 >= b.len() || !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                    {
                        return Err((u, "Invalid \\uXXXX escape"));
                    }
                    i = u + 5;
                }
                Some(_) => return Err((i, "Invalid \\escape")),
            },
            Some(&c) if c < 0x20 => return Err((i, "Invalid control character at")),
            Some(_) => i += 1,
        }
    }
}

/// A literal or number at `i`; returns where it ends.
fn literal(b: &[u8], i: usize) -> Option<usize> {
    let rest = b.get(i..)?;
    for word in [
        &b"null"[..],
        b"true",
        b"false",
        b"NaN",
        b"Infinity",
        b"-Infinity",
    ] {
        if rest.starts_with(word) {
            return Some(i + word.len());
        }
    }
    // -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = i + usize::from(b.get(i) == Some(&b'-'));
    match b.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => j = digits(j + 1),
        _ => return None,
    }
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = digits(j + 1);
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(j + 1), Some(b'+' | b'-')));
        if b.get(j + 1 + sign).is_some_and(u8::is_ascii_digit) {
            j = digits(j + 1 + sign);
        }
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::python_error;

    /// Expected values are what CPython 3.13's `json.loads` raises.
    #[test]
    fn errors_match_python() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "{some broken json}",
                1,
                "Expecting property name enclosed in double quotes",
            ),
            ("{\"a\": }", 6, "Expecting value"),
            ("{\"a\" 1}", 5, "Expecting ':' delimiter"),
            ("{\"a\":1} x", 8, "Extra data"),
            ("{\"a\":", 5, "Expecting value"),
            ("[1,2", 4, "Expecting ',' delimiter"),
            ("\"abc", 0, "Unterminated string starting at"),
            (
                "{\"a\":1,}",
                6,
                "Illegal trailing comma before end of object",
            ),
            ("[1,]", 2, "Illegal trailing comma before end of array"),
            ("", 0, "Expecting value"),
            ("  ", 2, "Expecting value"),
            ("{\"a\":\"\\q\"}", 6, "Invalid \\escape"),
            ("\"\\u12\"", 2, "Invalid \\uXXXX escape"),
            ("tru", 0, "Expecting value"),
            (
                "{1:2}",
                1,
                "Expecting property name enclosed in double quotes",
            ),
            ("[1 2]", 3, "Expecting ',' delimiter"),
            ("{\"a\":1 \"b\":2}", 7, "Expecting ',' delimiter"),
            ("\"é\" x", 4, "Extra data"),
            ("\"a\tb\"", 2, "Invalid control character at"),
            ("01", 1, "Extra data"),
            ("-", 0, "Expecting value"),
            ("[1.]", 2, "Expecting ',' delimiter"),
        ];
        for &(text, pos, msg) in cases {
            assert_eq!(python_error(text), Some((pos, msg)), "{text:?}");
        }
    }

    #[test]
    fn valid_documents_pass() {
        for text in [
            "{}",
            "[]",
            " {\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\n\"]} ",
            "NaN",
            "[-Infinity]",
            "0",
            "\"\"",
        ] {
            assert_eq!(python_error(text), None, "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = "[".repeat(1_000_000);
        assert_eq!(python_error(&text), Some((1_000_000, "Expecting value")));
    }
}
