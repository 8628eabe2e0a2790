//! Strict YAML checking for `compile_deployment`: syntax errors (every document of the
//! stream), duplicate keys in any mapping, and tabs in indentation, each with a 1-based line
//! and column. saphyr-parser's event stream gives the positions; the checks are ours.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
}

/// A mapping or sequence being read, innermost last.
enum Frame {
    Seq,
    Map {
        /// The next complete node is a key.
        expect_key: bool,
        /// Scalar keys seen so far, with the line of their first occurrence.
        seen: HashMap<String, usize>,
    },
}

/// Every problem of a YAML text, in line order (a syntax error ends the search for more).
pub fn check(text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Lines inside literal/folded block scalars: tabs there are content, not indentation.
    let mut block_lines: Vec<(usize, usize)> = Vec::new();
    let mut syntax_error = None;
    for next in Parser::new_from_str(text) {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(e) => {
                syntax_error = Some(Problem { line: e.marker().line(), col: e.marker().col() + 1, message: e.info().to_string() });
                break;
            }
        };
        let (line, col) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::Scalar(value, style, _, _) => {
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    block_lines.push((span.start.line(), span.end.line()));
                }
                complete(&mut stack, Some(value.as_ref()), line, col, &mut problems);
            }
            Event::Alias(_) => complete(&mut stack, None, line, col, &mut problems),
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingStart(..) => stack.push(Frame::Map { expect_key: true, seen: HashMap::new() }),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                complete(&mut stack, None, line, col, &mut problems);
            }
            Event::DocumentStart(_) | Event::DocumentEnd => stack.clear(),
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
    problems.extend(indentation_tabs(text, &block_lines));
    if let Some(error) = syntax_error {
        // A tab in indentation usually is the syntax error: say it once, the clearer way.
        // (saphyr may place it at the end of the line before the tab.)
        if !problems.iter().any(|p| p.line == error.line || p.line == error.line + 1) {
            problems.push(error);
        }
    }
    problems.sort_by_key(|p| (p.line, p.col));
    problems
}

/// A node ended: if it was a mapping key, look for an earlier equal one.
fn complete(stack: &mut [Frame], key: Option<&str>, line: usize, col: usize, problems: &mut Vec<Problem>) {
    if let Some(Frame::Map { expect_key, seen }) = stack.last_mut() {
        if *expect_key && let Some(key) = key {
            if let Some(first) = seen.get(key) {
                problems.push(Problem { line, col, message: format!("duplicate key `{key}` (first at line {first})") });
            } else {
                seen.insert(key.to_string(), line);
            }
        }
        *expect_key = !*expect_key;
    }
}

fn indentation_tabs(text: &str, block_lines: &[(usize, usize)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let lead: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if lead.len() == line.len() {
            continue; // blank lines say nothing about indentation
        }
        // Block scalar content starts on the line after its indicator.
        if block_lines.iter().any(|&(start, end)| number > start && number <= end) {
            continue;
        }
        if let Some(at) = lead.find('\t') {
            problems.push(Problem { line: number, col: at + 1, message: "tab in indentation (YAML indents with spaces only)".to_string() });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_yaml_has_no_problems_even_with_tabs_inside_block_scalars() {
        assert!(check("a: 1\nb:\n  - {c: 2, d: 3}\n  - e: |\n      x\n      \ty\n    f: 4\n---\na: 2\n").is_empty());
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth_but_not_across_maps() {
        let problems = check("a: 1\nb:\n  c: 1\n  c: 2\nlist:\n  - c: 1\n  - c: 2\na: 3\n");
        let found: Vec<_> = problems.iter().map(|p| (p.line, p.col, p.message.as_str())).collect();
        assert_eq!(found, [(4, 3, "duplicate key `c` (first at line 3)"), (8, 1, "duplicate key `a` (first at line 1)")]);
    }

    #[test]
    fn tabs_and_syntax_errors_are_placed() {
        let tab = check("a:\n  b: 1\n\tc: 2\n");
        assert_eq!((tab[0].line, tab[0].col), (3, 1), "{tab:?}");
        assert!(tab[0].message.contains("tab"));
        let bad = check("a: 1\nb: [unclosed\nc: 2\n");
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].line >= 2, "{bad:?}");
        let indent = check("a:\n  b: 1\n c: 2\n");
        assert_eq!(indent.len(), 1, "{indent:?}");
        assert_eq!(indent[0].line, 3, "{indent:?}");
    }
}
