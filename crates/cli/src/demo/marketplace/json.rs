//! Just enough JSON for `waven demo marketplace --json`: values built in
//! code and written with two-space indentation.

use std::fmt::Write;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `true` or `false`.
    Bool(bool),
    /// A number; a non-finite one is written as `null`.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in the given order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// A string value.
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    /// A number from anything that converts to `f64` without loss of
    /// meaning (counters, sizes, milliseconds).
    pub fn num(value: impl Into<f64>) -> Json {
        Json::Num(value.into())
    }

    /// An `f32` as its shortest decimal form (`986.03`, not the `f64`
    /// `986.030029296875` it converts to).
    pub fn f32(value: f32) -> Json {
        Json::Num(value.to_string().parse().unwrap_or(f64::NAN))
    }

    /// A count (`usize` or `u64`, exact up to 2^53).
    pub fn count(value: u64) -> Json {
        Json::Num(value as f64)
    }

    /// The document, pretty-printed, without a final newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) if !n.is_finite() => out.push_str("null"),
            Json::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            Json::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => quote(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    quote(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_values() {
        let doc = Json::obj([
            ("a", Json::Bool(true)),
            ("n", Json::num(2.5)),
            ("i", Json::count(3)),
            ("f", Json::f32(986.03)),
            ("s", Json::str("x\"\n\u{1}")),
            ("e", Json::Arr(vec![])),
            ("l", Json::Arr(vec![Json::num(f64::NAN)])),
        ]);
        assert_eq!(
            doc.pretty(),
            "{\n  \"a\": true,\n  \"n\": 2.5,\n  \"i\": 3,\n  \"f\": 986.03,\n  \"s\": \"x\\\"\\n\\u0001\",\n  \"e\": [],\n  \"l\": [\n    null\n  ]\n}"
        );
    }
}
