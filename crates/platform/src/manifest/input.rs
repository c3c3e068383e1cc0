//! Bounds on the manifest's text, checked before the TOML parser sees it.
//!
//! The enclave profile reads and parses the manifest on a small bootstrap
//! heap (8 MiB), before the manifest has said how much host heap to
//! reserve, and a parser recurses once per level of nested arrays and
//! inline tables. A manifest that is too large, has too many items, or
//! nests too deeply must be an error with a clear message, not an
//! allocation failure or a stack overflow that aborts the process.
//!
//! The size alone is not enough: the parser keeps about 80 bytes per
//! value, and its vectors double, so 128 KiB of `"",` (three bytes a
//! value) took more than the bootstrap heap. Hence the count of items.
//! Measured in the enclave build, 10,000 items with one long string
//! parse in 768 KiB but not in 896 KiB: the size limit keeps a margin of
//! three.
//! Every limit is far above what a deployment needs: the schema nests at
//! most two levels (`[[tenant]]`, an array of strings), and a tenant takes
//! a dozen items.

use std::io::Read;
use std::path::Path;

use super::{MAX_MANIFEST_BYTES, MAX_MANIFEST_ITEMS, MAX_NESTING};

/// Reads the file at `path`, refusing one larger than
/// [`MAX_MANIFEST_BYTES`] before reading it (from its metadata) and while
/// reading it (in case it grows, or its metadata does not tell).
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|error| format!("cannot read manifest: {error}"))?;
    let mut expected = 0;
    if let Ok(metadata) = file.metadata() {
        if metadata.len() > MAX_MANIFEST_BYTES {
            return Err(too_large(metadata.len()));
        }
        expected = metadata.len() as usize;
    }
    // As large as the file says, plus the byte that shows it grew: a vector
    // that doubles as it reads could take twice the file's size.
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(expected + 1)
        .map_err(|_| too_large(expected as u64))?;
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
         bytes (256 KiB)"
    )
}

/// The first place where `text` nests arrays and inline tables deeper
/// than [`MAX_NESTING`], or has more than [`MAX_MANIFEST_ITEMS`] items:
/// (byte offset, message).
///
/// Items are every `=`, `,`, `[` and `{`, which bound the keys, values
/// and tables the parser makes. Both are counted outside strings and
/// comments. A `[[table]]` header counts as two levels, which is as deep
/// as it goes; an unclosed bracket is left for the parser to report.
pub(super) fn check_structure(text: &str) -> Result<(), (usize, String)> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut items = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'=' | b',' | b'[' | b'{') {
            items += 1;
            if items > MAX_MANIFEST_ITEMS {
                let message = format!(
                    "the manifest has more than {MAX_MANIFEST_ITEMS} items (keys, values and \
                     tables, counted as `=`, `,`, `[` and `{{` outside strings)"
                );
                return Err((i, message));
            }
        }
        match b {
            b'#' => i = skip_line(bytes, i),
            b'"' | b'\'' => i = skip_string(bytes, i),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let message = format!(
                        "arrays and inline tables nest deeper than the limit of {MAX_NESTING} levels"
                    );
                    return Err((i, message));
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
    Ok(())
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
            assert_eq!(check_structure(text), Ok(()), "{text}");
        }
        let ok = format!("a = {}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(check_structure(&ok), Ok(()));
        let text = format!("a = \"]]]\"\nb = {}", "[{".repeat(MAX_NESTING));
        let (offset, message) = check_structure(&text).unwrap_err();
        assert_eq!(offset, 14 + MAX_NESTING);
        assert!(message.starts_with("arrays and inline tables nest deeper"));
        assert_eq!(check_structure("[[tenant]]\nx = [[1], {a = [2]}]"), Ok(()));
    }

    #[test]
    fn items_are_counted_outside_strings() {
        let many = format!("a = [{}]", "1,".repeat(MAX_MANIFEST_ITEMS - 2));
        assert_eq!(check_structure(&many), Ok(()));
        let (offset, message) = check_structure(&format!("{many}\nb = 1")).unwrap_err();
        assert_eq!(offset, many.len() + 3);
        assert!(message.starts_with("the manifest has more than"));
        let quoted = format!("a = \"{}\" # {}", ",".repeat(100_000), "=".repeat(100_000));
        assert_eq!(check_structure(&quoted), Ok(()));
    }
}
