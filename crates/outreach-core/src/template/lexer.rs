//! Finds the Jinja tags in a template so that spintax and the pre-send probe can leave them alone.
//!
//! The boundaries follow minijinja's own lexer: a tag opens at `{{`, `{%` or `{#`; strings and
//! bracket nesting inside `{{ }}` and `{% %}` are skipped while looking for the closer, and a
//! `{% raw %}` block runs to its `{% endraw %}`. Anything the lexer cannot close runs to the end
//! of the source and is left for minijinja to report as a syntax error.

use std::ops::Range;

/// What a tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagKind {
    /// `{{ expression }}`: an output.
    Variable,
    /// `{% statement %}`.
    Block,
    /// `{# comment #}`.
    Comment,
    /// `{% raw %} ... {% endraw %}`, taken whole.
    Raw,
}

/// A piece of a template source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Template data between tags (may hold spintax).
    Text(Range<usize>),
    /// A Jinja tag.
    Tag(Tag),
}

/// One Jinja tag, as byte ranges into the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// What kind of tag.
    pub kind: TagKind,
    /// The whole tag, delimiters included.
    pub span: Range<usize>,
    /// Between the delimiters, whitespace-control markers included.
    pub inner: Range<usize>,
}

/// Splits `src` into text and tags, in order, covering every byte.
pub(crate) fn segments(src: &str) -> Vec<Segment> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut pos = 0;
    while pos + 1 < bytes.len() {
        let kind = match (bytes[pos], bytes[pos + 1]) {
            (b'{', b'{') => TagKind::Variable,
            (b'{', b'%') => TagKind::Block,
            (b'{', b'#') => TagKind::Comment,
            _ => {
                pos += 1;
                continue;
            }
        };
        if text_start < pos {
            out.push(Segment::Text(text_start..pos));
        }
        let tag = read_tag(src, pos, kind);
        pos = tag.span.end;
        text_start = pos;
        out.push(Segment::Tag(tag));
    }
    if text_start < bytes.len() {
        out.push(Segment::Text(text_start..bytes.len()));
    }
    out
}

/// Reads the tag opening at `start`.
fn read_tag(src: &str, start: usize, kind: TagKind) -> Tag {
    let inner_start = start + 2;
    let (inner_end, end) = match kind {
        TagKind::Comment => match src[inner_start..].find("#}") {
            Some(i) => (inner_start + i, inner_start + i + 2),
            None => (src.len(), src.len()),
        },
        TagKind::Variable => find_closer(src, inner_start, b'}'),
        TagKind::Block | TagKind::Raw => find_closer(src, inner_start, b'%'),
    };
    let tag = Tag {
        kind,
        span: start..end,
        inner: inner_start..inner_end,
    };
    if kind == TagKind::Block && is_keyword_tag(&src[tag.inner.clone()], "raw") {
        return read_raw(src, tag);
    }
    tag
}

/// Finds `}}` (`first` = `}`) or `%}` (`first` = `%`) outside strings and brackets.
/// Returns where the inner part ends and where the tag ends.
fn find_closer(src: &str, from: usize, first: u8) -> (usize, usize) {
    let bytes = src.as_bytes();
    let mut balance: isize = 0;
    let mut quote: Option<u8> = None;
    let mut pos = from;
    while pos < bytes.len() {
        let b = bytes[pos];
        if let Some(q) = quote {
            if b == b'\\' {
                pos += 1;
            } else if b == q {
                quote = None;
            }
            pos += 1;
            continue;
        }
        if balance <= 0 && b == first && bytes.get(pos + 1) == Some(&b'}') {
            return (pos, pos + 2);
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'(' | b'[' | b'{' => balance += 1,
            b')' | b']' | b'}' => balance -= 1,
            _ => {}
        }
        pos += 1;
    }
    (src.len(), src.len())
}

/// Whether a block tag's inner text is exactly `keyword`, whitespace control aside.
fn is_keyword_tag(inner: &str, keyword: &str) -> bool {
    strip_markers(inner).trim() == keyword
}

/// Strips a leading and a trailing whitespace-control marker (`-` or `+`).
pub(crate) fn strip_markers(inner: &str) -> &str {
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    inner.strip_suffix(['-', '+']).unwrap_or(inner)
}

/// Extends a `{% raw %}` tag over its body and the `{% endraw %}` that closes it.
fn read_raw(src: &str, open: Tag) -> Tag {
    let mut pos = open.span.end;
    while let Some(i) = src[pos..].find("{%") {
        let at = pos + i;
        let (inner_end, end) = find_closer(src, at + 2, b'%');
        if is_keyword_tag(&src[at + 2..inner_end], "endraw") {
            return Tag {
                kind: TagKind::Raw,
                span: open.span.start..end,
                inner: open.span.end..at,
            };
        }
        pos = at + 2;
    }
    Tag {
        kind: TagKind::Raw,
        span: open.span.start..src.len(),
        inner: open.span.end..src.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(src: &str) -> Vec<(TagKind, &str)> {
        segments(src)
            .into_iter()
            .filter_map(|s| match s {
                Segment::Tag(t) => Some((t.kind, &src[t.span])),
                Segment::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn segments_cover_the_whole_source() {
        let src = "Hi {{ name }}, {% if x %}{a|b}{% endif %}{# note #} bye";
        let mut joined = String::new();
        for s in segments(src) {
            match s {
                Segment::Text(r) => joined.push_str(&src[r]),
                Segment::Tag(t) => joined.push_str(&src[t.span]),
            }
        }
        assert_eq!(joined, src);
        assert_eq!(
            tags(src),
            vec![
                (TagKind::Variable, "{{ name }}"),
                (TagKind::Block, "{% if x %}"),
                (TagKind::Block, "{% endif %}"),
                (TagKind::Comment, "{# note #}"),
            ]
        );
    }

    #[test]
    fn closers_inside_strings_and_brackets_do_not_end_a_tag() {
        let src = r#"{{ "}}" ~ x }}{{ {"a": {"b": 1}} }}{% set s = '%}' %}"#;
        assert_eq!(
            tags(src),
            vec![
                (TagKind::Variable, r#"{{ "}}" ~ x }}"#),
                (TagKind::Variable, r#"{{ {"a": {"b": 1}} }}"#),
                (TagKind::Block, "{% set s = '%}' %}"),
            ]
        );
    }

    #[test]
    fn raw_blocks_are_one_tag() {
        let src = "a{% raw %}{a|b} {{ x }}{%- endraw -%}b";
        assert_eq!(
            tags(src),
            vec![(TagKind::Raw, "{% raw %}{a|b} {{ x }}{%- endraw -%}")]
        );
    }

    #[test]
    fn unclosed_tags_run_to_the_end() {
        assert_eq!(tags("Hi {{ name"), vec![(TagKind::Variable, "{{ name")]);
        assert_eq!(tags("{# open"), vec![(TagKind::Comment, "{# open")]);
    }

    #[test]
    fn markers_are_stripped_once() {
        assert_eq!(strip_markers("- x -"), " x ");
        assert_eq!(strip_markers("+x"), "x");
        assert_eq!(strip_markers(" x - 1 "), " x - 1 ");
    }
}
