//! A small block-style YAML writer: values are built as a tree and written with every string
//! that YAML could read as something else (a boolean, a number, null, a date, an indicator)
//! double-quoted, so `yes`, `"1"` and `1Gi` come back as the strings they are.

/// A YAML value to write. Map entries keep their order (the output is deterministic).
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Str(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

pub fn s(text: impl Into<String>) -> Y {
    Y::Str(text.into())
}

pub fn map(entries: Vec<(&str, Y)>) -> Y {
    Y::Map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A whole document, ending with a newline.
pub fn to_yaml(value: &Y) -> String {
    let mut out = String::new();
    match value {
        Y::Map(entries) if !entries.is_empty() => write_map(entries, 0, &mut out),
        Y::Seq(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// A scalar or an empty collection on one line.
fn inline(value: &Y) -> String {
    match value {
        Y::Str(text) => scalar(text),
        Y::Int(n) => n.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Seq(_) => "[]".to_string(),
        Y::Map(_) => "{}".to_string(),
    }
}

fn is_block(value: &Y) -> bool {
    matches!(value, Y::Map(e) if !e.is_empty()) || matches!(value, Y::Seq(i) if !i.is_empty())
}

fn write_map(entries: &[(String, Y)], indent: usize, out: &mut String) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first entry of a map inside a sequence item sits after its `- `.
        if i > 0 || !out.ends_with("- ") {
            push_indent(indent, out);
        }
        out.push_str(&scalar(key));
        out.push(':');
        write_value(value, indent, out);
    }
}

fn write_value(value: &Y, indent: usize, out: &mut String) {
    match value {
        Y::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(entries, indent + 2, out);
        }
        Y::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_seq(items: &[Y], indent: usize, out: &mut String) {
    for item in items {
        push_indent(indent, out);
        out.push_str("- ");
        match item {
            Y::Map(entries) if !entries.is_empty() => write_map(entries, indent + 2, out),
            Y::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(inner, indent + 2, out);
            }
            other => {
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
        debug_assert!(!is_block(item) || out.ends_with('\n'));
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A string as a YAML scalar: plain when it can only be read back as this string, else
/// double-quoted (JSON escaping is valid YAML double-quoted text).
pub fn scalar(text: &str) -> String {
    if plain_is_safe(text) { text.to_string() } else { quote(text) }
}

/// Always double-quoted.
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    // Only letters, digits and a few punctuation marks; starting with a letter, `_` or `/`
    // keeps out numbers, dates, `.inf`, indicators and `-`/`?`/`:` openers.
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':')) {
        return false;
    }
    if text.ends_with(':') || text.contains("::") {
        return false;
    }
    // YAML 1.1 and 1.2 booleans and nulls, in every case.
    let lower = text.to_ascii_lowercase();
    !matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_strings_are_quoted_and_plain_ones_are_not() {
        for (text, written) in [
            ("yes", "\"yes\""),
            ("No", "\"No\""),
            ("1", "\"1\""),
            ("1Gi", "\"1Gi\""),
            ("500m", "\"500m\""),
            ("", "\"\""),
            ("null", "\"null\""),
            ("a: b", "\"a: b\""),
            ("#x", "\"#x\""),
            ("api", "api"),
            ("localhost/mosd/x-api:develop", "localhost/mosd/x-api:develop"),
            ("staff.example.org", "staff.example.org"),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ] {
            assert_eq!(scalar(text), written, "{text}");
        }
    }

    #[test]
    fn nested_maps_and_sequences_are_written_in_block_style() {
        let doc = map(vec![
            ("a", Y::Int(1)),
            ("b", map(vec![("c", s("x")), ("d", Y::Seq(vec![s("p"), map(vec![("e", Y::Bool(true)), ("f", Y::Seq(vec![]))])]))])),
            ("g", Y::Map(vec![])),
        ]);
        assert_eq!(to_yaml(&doc), "a: 1\nb:\n  c: x\n  d:\n    - p\n    - e: true\n      f: []\ng: {}\n");
    }
}
