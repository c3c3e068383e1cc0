//! Bounds on the manifest's text, checked before the TOML parser sees it.
//!
//! The enclave profile reads and parses the manifest on a small bootstrap
//! heap (8 MiB), before the manifest has said how much host heap to
//! reserve, and a parser recurses once per level of nested arrays and
//! inline tables. A manifest that is too large, or nested too deeply, must
//! be an error with a clear message, not an allocation failure or a stack
//! overflow that aborts the process. Both limits are far above what a
//! deployment needs: the schema nests at most two levels (`[[tenant]]`, an
//! array of strings).

use std::io::Read;
use std::path::Path;

use super::{MAX_MANIFEST_BYTES, MAX_NESTING};

/// Reads the file at `path`, refusing one larger than
/// [`MAX_MANIFEST_BYTES`] before reading it (from its metadata) and while
/// reading it (in case it grows, or its metadata does not tell).
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|error| format!("cannot read manifest: {error}"))?;
    if let Ok(metadata) = file.metadata() {
        if metadata.len() > MAX_MANIFEST_BYTES {
            return Err(too_large(metadata.len()));
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read manifest: {error}"))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The message for a manifest of `bytes` (or more).
pub(super) fn too_large(bytes: u64) -> String {
    format!(
        "the manifest has {bytes} bytes or more, more than the limit of {MAX_MANIFEST_BYTES} \
         bytes (1 MiB)"
    )
}

/// Where `text` nests arrays and inline tables deeper than [`MAX_NESTING`]:
/// the byte offset of the first bracket or brace too deep.
///
/// Brackets are counted outside strings and comments. A `[[table]]`
/// header counts as two levels, which is as deep as it goes; an unclosed
/// bracket is left for the parser to report.
pub(super) fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = skip_line(bytes, i),
            b'"' | b'\'' => i = skip_string(bytes, i),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// The offset of the end of the line (its `\n`) that starts at `start`.
fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| start + n)
}

/// The offset just past the string that opens at `start` (basic or
/// literal, on one line or multi-line), or the end of the text if it is
/// not closed (the parser reports that).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let multi_line = bytes[start..].starts_with(&[quote; 3]);
    let mut i = start + if multi_line { 3 } else { 1 };
    while i < bytes.len() {
        let b = bytes[i];
        // Only basic strings have escapes; `\"` does not close them.
        if b == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if b == quote {
            if !multi_line {
                return i + 1;
            }
            if bytes[i..].starts_with(&[quote; 3]) {
                // Up to two quotes may end the content just before the
                // closing three (`""""` is a quote and the end).
                let mut end = i + 3;
                while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                    end += 1;
                }
                return end;
            }
        }
        if b == b'\n' && !multi_line {
            // An unclosed one-line string; the parser says so.
            return i;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = "[".repeat(MAX_NESTING + 1);
        let texts = [
            format!("a = \"{deep}\""),
            format!("a = '{deep}'"),
            format!("a = \"\"\"\n{deep}\n\"\"\""),
            format!("a = '''{deep}'''"),
            format!("a = \"\\\"{deep}\""),
            format!("# {deep}\nb = 1"),
            format!("a = \"\"\"x\"\"\"\"\nb = [[[1]]] # {deep}"),
        ];
        for text in &texts {
            assert_eq!(too_deep(text), None, "{text}");
        }
        let ok = format!("a = {}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(too_deep(&ok), None);
        let text = format!("a = \"]]]\"\nb = {}", "[{".repeat(MAX_NESTING));
        assert_eq!(too_deep(&text), Some(14 + MAX_NESTING));
        assert_eq!(too_deep("[[tenant]]\nx = [[1], {a = [2]}]"), None);
    }
}
