//! Byte ranges and the line table that turns them into positions.
//!
//! Every element the core produces carries a byte range into the text it came from. Shells
//! convert to line/column (CLI, 1-based) or to LSP positions (UTF-16 or UTF-8) at the edge only.

/// A half-open byte range into a document's text.
pub type Span = std::ops::Range<usize>;

/// Start offsets of every line, so that offset → (line, column) is a binary search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
}

/// A zero-based line and a zero-based column counted in the unit the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// How columns are counted: LSP negotiates UTF-16 (default) or UTF-8; humans read characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUnit {
    Utf8,
    Utf16,
    Chars,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        // Lines end at "\n", "\r\n" or a lone "\r": the three line endings of LSP, CommonMark and YAML.
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        LineIndex { line_starts, len: text.len() }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset where zero-based `line` starts (clamped to the end of the text).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.len)
    }

    /// Zero-based line that contains `offset` (offsets past the end map to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Line and column of a byte offset; the offset is clamped to the text and to a char boundary.
    pub fn line_col(&self, text: &str, offset: usize, unit: ColumnUnit) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let prefix = &text[start..offset];
        let col = match unit {
            ColumnUnit::Utf8 => prefix.len(),
            ColumnUnit::Utf16 => prefix.encode_utf16().count(),
            ColumnUnit::Chars => prefix.chars().count(),
        };
        LineCol { line: line as u32, col: col as u32 }
    }

    /// Byte offset of a line and column; positions past a line's end clamp to that end
    /// (before its line break), positions past the last line clamp to the end of the text.
    pub fn offset(&self, text: &str, pos: LineCol, unit: ColumnUnit) -> usize {
        let line = pos.line as usize;
        if line >= self.line_starts.len() {
            return text.len();
        }
        let start = self.line_starts[line];
        let end = self.line_starts.get(line + 1).copied().unwrap_or(text.len());
        let line_text = text[start..end].trim_end_matches(['\n', '\r']);
        let want = pos.col as usize;
        let mut seen = 0usize;
        for (i, ch) in line_text.char_indices() {
            if seen >= want {
                return start + i;
            }
            seen += match unit {
                ColumnUnit::Utf8 => ch.len_utf8(),
                ColumnUnit::Utf16 => ch.len_utf16(),
                ColumnUnit::Chars => 1,
            };
            if seen > want {
                // The position falls inside a character: snap to its start.
                return start + i;
            }
        }
        start + line_text.len()
    }
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_every_unit() {
        let text = "a\r\nሰላም 👋 x\nlast";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 3);
        let x = text.find('x').unwrap();
        assert_eq!(index.line_col(text, x, ColumnUnit::Chars), LineCol { line: 1, col: 6 });
        assert_eq!(index.line_col(text, x, ColumnUnit::Utf16), LineCol { line: 1, col: 7 });
        assert_eq!(index.line_col(text, x, ColumnUnit::Utf8), LineCol { line: 1, col: 15 });
        for unit in [ColumnUnit::Chars, ColumnUnit::Utf16, ColumnUnit::Utf8] {
            let pos = index.line_col(text, x, unit);
            assert_eq!(index.offset(text, pos, unit), x);
        }
    }

    #[test]
    fn every_lsp_line_ending_counts() {
        let text = "a\nb\r\nc\rd";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 4);
        let d = text.find('d').unwrap();
        assert_eq!(index.line_col(text, d, ColumnUnit::Utf16), LineCol { line: 3, col: 0 });
        // The end of a line is before its line ending, whichever it is.
        assert_eq!(index.offset(text, LineCol { line: 1, col: 9 }, ColumnUnit::Utf16), text.find("\r\n").unwrap());
        assert_eq!(index.offset(text, LineCol { line: 2, col: 9 }, ColumnUnit::Utf16), text.find("c").unwrap() + 1);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LineCol { line: 0, col: 99 }, ColumnUnit::Utf16), 2);
        assert_eq!(index.offset(text, LineCol { line: 9, col: 0 }, ColumnUnit::Utf16), 5);
        assert_eq!(index.line_col(text, 99, ColumnUnit::Utf16), LineCol { line: 1, col: 2 });
        // Inside a multi-byte character snaps to its start.
        let text = "é";
        assert_eq!(floor_char_boundary(text, 1), 0);
    }
}
