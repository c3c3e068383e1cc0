//! Text that guests control (their output, the names of regions they share,
//! trap messages of host functions), made safe to show on an operator's
//! terminal.
//!
//! A guest that could send raw control characters there could clear the
//! screen (`\x1b[2J`), overwrite a line (`\r`), or add a fake row to the
//! summary (`\n`), and bidirectional overrides (U+202E) could make text
//! read differently from what it is. So every such character is written in
//! a visible escape form instead (see [`escape_text`]). JSON reports need
//! none of this: JSON escapes control characters itself, and a JSON report
//! must give names exactly.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character a terminal could act on escaped; borrowed
/// when there is none:
///
/// | characters                                     | written as          |
/// | ---------------------------------------------- | ------------------- |
/// | `\n`, `\r`                                     | `\n`, `\r`          |
/// | other C0 controls (not `\t`), DEL              | `\x1b`, `\x7f`, ... |
/// | C1 controls U+0080..=U+009F                    | `\u{9b}`, ...       |
/// | bidi controls, U+2028 and U+2029 (line breaks) | `\u{202e}`, ...     |
///
/// Tabs stay, and so does everything else (a backslash is not escaped, so
/// a guest can print text that looks like an escape, but nothing that acts
/// as one).
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    push_escaped(&mut out, text);
    Cow::Owned(out)
}

/// `bytes` as text: UTF-8 escaped as [`escape_text`] does, and every byte
/// that is not part of valid UTF-8 written as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        // Writing to a String cannot fail.
        let _ = match c {
            '\n' => write!(out, "\\n"),
            '\r' => write!(out, "\\r"),
            '\0'..='\x7f' => write!(out, "\\x{:02x}", c as u32),
            _ => write!(out, "\\u{{{:x}}}", c as u32),
        };
    }
}

/// Whether a terminal could take `c` as something other than a character
/// to show: a control (but a tab), or a bidirectional or line-breaking
/// format character.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape_text("plain\ttext é"), Cow::Borrowed(_)));
        assert_eq!(
            escape_text("a\rb\x1b[2J\nc\x7f\u{9b}d\u{202e}e\u{2066}\u{2029}"),
            "a\\rb\\x1b[2J\\nc\\x7f\\u{9b}d\\u{202e}e\\u{2066}\\u{2029}"
        );
        assert_eq!(escape_text("\0\x01"), "\\x00\\x01");
        assert_eq!(
            escape_bytes(b"ok \xff\xfe\x1b\xc3\xa9"),
            "ok \\xff\\xfe\\x1bé"
        );
    }
}
