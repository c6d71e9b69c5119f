//! Putting text into the pages safely: escaped in HTML, JSON in inline scripts.

use serde_json::Value;

/// `text` escaped for HTML text and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `value` as a JavaScript literal to put inside `<script>`: JSON whose `<`, `>` and `&`
/// are `\u` escapes, so no string in it can end the script (`</script>`) or open a comment
/// (`<!--`). These characters only occur inside JSON strings, where the escapes mean the
/// same. U+2028 and U+2029 are escaped too, for older JavaScript engines.
pub(super) fn script_json(value: &Value) -> String {
    let json = value.to_string();
    let mut escaped = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain /docs"), "plain /docs");
    }

    #[test]
    fn script_json_cannot_close_the_script_and_still_parses() {
        let value = serde_json::json!({"title": "</script><!-- & \u{2028}", "n": 1});
        let literal = script_json(&value);
        assert!(!literal.contains('<') && !literal.contains('>') && !literal.contains('&'));
        assert!(!literal.contains('\u{2028}'));
        let back: Value = serde_json::from_str(&literal).unwrap();
        assert_eq!(back, value);
    }
}
