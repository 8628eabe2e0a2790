//! A flat list of top-level Markdown blocks with byte ranges, built on pulldown-cmark.
//!
//! The playbook schema is line-oriented (headings, bold paragraphs, field bullets), so the
//! parser works on this block list and reads field text from the source slices: raw Markdown
//! keeps backticks and escapes exactly as the author wrote them.

use crate::span::Span;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading {
        level: u8,
        span: Span,
    },
    Paragraph {
        span: Span,
    },
    List {
        items: Vec<ListItem>,
        span: Span,
    },
    Code {
        info: String,
        content: Span,
        span: Span,
    },
    Rule {
        span: Span,
    },
    /// Tables, block quotes, HTML: kept only so sections know where they end.
    Other {
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub span: Span,
    /// The item's own text: from its start to its first nested list (or its end).
    pub lead: Span,
    /// Items of lists nested directly inside this one.
    pub children: Vec<ListItem>,
}

impl Block {
    pub fn span(&self) -> &Span {
        match self {
            Block::Heading { span, .. }
            | Block::Paragraph { span }
            | Block::List { span, .. }
            | Block::Code { span, .. }
            | Block::Rule { span }
            | Block::Other { span } => span,
        }
    }
}

pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    // Stack of open list items (and the nested lists they hold) while inside a top-level list.
    let mut item_stack: Vec<ListItem> = Vec::new();
    let mut top_items: Vec<ListItem> = Vec::new();
    let mut top_list_span: Option<Span> = None;
    let mut code: Option<(String, Span)> = None;

    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    match &tag {
                        Tag::List(_) => {
                            top_list_span = Some(range.clone());
                            top_items.clear();
                        }
                        Tag::CodeBlock(kind) => {
                            let info = match kind {
                                CodeBlockKind::Fenced(info) => info.to_string(),
                                CodeBlockKind::Indented => String::new(),
                            };
                            code = Some((info, range.end..range.start));
                        }
                        _ => {}
                    }
                }
                match &tag {
                    Tag::Item => item_stack.push(ListItem { span: range.clone(), lead: range.clone(), children: Vec::new() }),
                    Tag::List(_) if depth > 0 => {
                        // A nested list ends the lead text of the item that holds it.
                        if let Some(parent) = item_stack.last_mut()
                            && parent.lead.end == parent.span.end
                        {
                            parent.lead.end = range.start;
                        }
                    }
                    _ => {}
                }
                depth += 1;
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                if matches!(end, TagEnd::Item)
                    && let Some(mut item) = item_stack.pop()
                {
                    item.lead.end = item.lead.end.min(item.span.end).max(item.lead.start);
                    match item_stack.last_mut() {
                        Some(parent) => parent.children.push(item),
                        None => top_items.push(item),
                    }
                }
                if depth == 0 {
                    match end {
                        TagEnd::Heading(level) => out.push(Block::Heading { level: heading_level(level), span: range }),
                        TagEnd::Paragraph => out.push(Block::Paragraph { span: range }),
                        TagEnd::List(_) => {
                            let span = top_list_span.take().unwrap_or(range);
                            out.push(Block::List { items: std::mem::take(&mut top_items), span });
                        }
                        TagEnd::CodeBlock => {
                            let (info, content) = code.take().unwrap_or_default();
                            let content = if content.start > content.end { range.start..range.start } else { content };
                            out.push(Block::Code { info, content, span: range });
                        }
                        _ => out.push(Block::Other { span: range }),
                    }
                }
            }
            Event::Text(_) if depth == 1 && code.is_some() => {
                // Code block content: widen the content range over every text chunk.
                if let Some((_, content)) = code.as_mut() {
                    if content.start > content.end {
                        *content = range;
                    } else {
                        content.end = range.end;
                    }
                }
            }
            Event::Rule if depth == 0 => out.push(Block::Rule { span: range }),
            Event::Html(_) | Event::InlineHtml(_) if depth == 0 => out.push(Block::Other { span: range }),
            _ => {}
        }
    }
    out
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_lead_text_and_nested_items() {
        let text = "# T\n\n* **A:** one\n* **B:** two\n  * **c** _(when x = y)_ — q\n\n```sh run\necho hi\n```\n";
        let b = blocks(text);
        assert!(matches!(b[0], Block::Heading { level: 1, .. }));
        let Block::List { items, .. } = &b[1] else { panic!("{b:?}") };
        assert_eq!(items.len(), 2);
        assert_eq!(text[items[1].lead.clone()].trim_end(), "* **B:** two");
        assert_eq!(items[1].children.len(), 1);
        assert!(text[items[1].children[0].lead.clone()].contains("**c**"));
        let Block::Code { info, content, .. } = &b[2] else { panic!() };
        assert_eq!(info, "sh run");
        assert_eq!(&text[content.clone()], "echo hi\n");
    }
}
