//! Spintax: `{Hi|Hello|Hey}` picks one option per message, options may nest (`{a|{b|c}}`).
//!
//! Spintax is resolved before Jinja sees the template, so Jinja tags are never spintax: the
//! lexer hands them over whole, `|` filters and dict braces included. A brace group without a
//! `|` (say `{name}`) is not spintax and stays in the text as written, so the pre-send check can
//! flag it as a forgotten placeholder.
//!
//! The choice hashes the caller's seed, the template part and the group's number with SHA-256:
//! unlike a general-purpose RNG, that mapping never changes between releases, so re-rendering a
//! queued message gives the same text.

use sha2::{Digest, Sha256};

use super::lexer::{Segment, segments};

/// Unbalanced spintax braces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(crate) struct SpintaxError {
    /// 1-based line of the offending brace.
    pub line: u32,
    /// What is wrong, for people.
    pub message: String,
}

/// A piece of parsed spintax.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// Source text copied as is (template data or a whole Jinja tag).
    Text(std::ops::Range<usize>),
    /// `{a|b|...}` with at least two options.
    Choice(Choice),
    /// `{...}` with one option: kept with its braces.
    Literal(Vec<Node>),
}

/// A spintax group with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Choice {
    /// Number of the group in source order, the key of its pick.
    id: u64,
    /// The options, each with the byte range it spans in the source.
    options: Vec<(std::ops::Range<usize>, Vec<Node>)>,
}

/// A template part with its spintax parsed.
#[derive(Debug, Clone)]
pub(crate) struct Spintax<'a> {
    src: &'a str,
    nodes: Vec<Node>,
    /// Offsets of the `{`, `|` and `}` bytes that are spintax syntax.
    syntax: Vec<usize>,
}

/// An option of a spintax group, for checking it on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptionText {
    /// 1-based line the option starts on.
    pub line: u32,
    /// The option with nested spintax flattened (see [`Spintax::flatten`]).
    pub text: String,
}

/// An open group while parsing.
struct Frame {
    open: usize,
    option_start: usize,
    options: Vec<(std::ops::Range<usize>, Vec<Node>)>,
    pipes: Vec<usize>,
    id: u64,
    /// The nodes of the enclosing level, collected before this group opened.
    parent: Vec<Node>,
}

impl<'a> Spintax<'a> {
    /// Parses the spintax of `src`.
    pub(crate) fn parse(src: &'a str) -> Result<Self, SpintaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut current: Vec<Node> = Vec::new();
        let mut syntax = Vec::new();
        let mut next_id = 0u64;
        for segment in segments(src) {
            let range = match segment {
                Segment::Tag(tag) => {
                    current.push(Node::Text(tag.span));
                    continue;
                }
                Segment::Text(range) => range,
            };
            let mut run_start = range.start;
            for (i, b) in src[range.clone()].bytes().enumerate() {
                let at = range.start + i;
                if !matches!(b, b'{' | b'|' | b'}') || (b == b'|' && stack.is_empty()) {
                    continue;
                }
                if run_start < at {
                    current.push(Node::Text(run_start..at));
                }
                run_start = at + 1;
                match b {
                    b'{' => {
                        stack.push(Frame {
                            open: at,
                            option_start: at + 1,
                            options: Vec::new(),
                            pipes: Vec::new(),
                            id: next_id,
                            parent: std::mem::take(&mut current),
                        });
                        next_id += 1;
                    }
                    b'|' => {
                        if let Some(frame) = stack.last_mut() {
                            frame
                                .options
                                .push((frame.option_start..at, std::mem::take(&mut current)));
                            frame.option_start = at + 1;
                            frame.pipes.push(at);
                        }
                    }
                    _ => {
                        let Some(mut frame) = stack.pop() else {
                            return Err(SpintaxError {
                                line: line_of(src, at),
                                message: "this '}' closes no spintax group; spintax looks like \
                                          {Hi|Hello}, and a literal brace is written {{ \"}\" }}"
                                    .to_owned(),
                            });
                        };
                        frame
                            .options
                            .push((frame.option_start..at, std::mem::take(&mut current)));
                        let options = std::mem::take(&mut frame.options);
                        current = std::mem::take(&mut frame.parent);
                        if options.len() > 1 {
                            syntax.push(frame.open);
                            syntax.append(&mut frame.pipes);
                            syntax.push(at);
                            current.push(Node::Choice(Choice {
                                id: frame.id,
                                options,
                            }));
                        } else {
                            let inner = options.into_iter().next().map(|(_, n)| n);
                            current.push(Node::Literal(inner.unwrap_or_default()));
                        }
                    }
                }
            }
            if run_start < range.end {
                current.push(Node::Text(run_start..range.end));
            }
        }
        if let Some(frame) = stack.first() {
            return Err(SpintaxError {
                line: line_of(src, frame.open),
                message: "this '{' opens a spintax group that is never closed with '}'; \
                          spintax looks like {Hi|Hello}, and a literal brace is written {{ \"{\" }}"
                    .to_owned(),
            });
        }
        syntax.sort_unstable();
        Ok(Self {
            src,
            nodes: current,
            syntax,
        })
    }

    /// The text with one option picked per group, deterministic for `seed` and `salt`.
    pub(crate) fn resolve(&self, seed: u64, salt: &str) -> String {
        let mut out = String::with_capacity(self.src.len());
        self.write_resolved(&self.nodes, seed, salt, &mut out);
        out
    }

    fn write_resolved(&self, nodes: &[Node], seed: u64, salt: &str, out: &mut String) {
        for node in nodes {
            match node {
                Node::Text(r) => out.push_str(&self.src[r.clone()]),
                Node::Literal(inner) => {
                    out.push('{');
                    self.write_resolved(inner, seed, salt, out);
                    out.push('}');
                }
                Node::Choice(choice) => {
                    let pick = pick(seed, salt, choice.id, choice.options.len());
                    if let Some((_, option)) = choice.options.get(pick) {
                        self.write_resolved(option, seed, salt, out);
                    }
                }
            }
        }
    }

    /// Every option of every group side by side, the spintax braces and pipes blanked out.
    ///
    /// Byte offsets, and so line numbers, match the source. When each option is valid Jinja on
    /// its own (see [`Self::options`]), the flattened text is valid Jinja exactly when every
    /// resolution is, and its variables are those of all options together.
    pub(crate) fn flatten(&self) -> String {
        let mut bytes = self.src.as_bytes().to_vec();
        for &at in &self.syntax {
            if let Some(b) = bytes.get_mut(at) {
                *b = b' ';
            }
        }
        // Only ASCII bytes were replaced by ASCII, so the text is still UTF-8.
        String::from_utf8(bytes).unwrap_or_else(|_| self.src.to_owned())
    }

    /// Every option of every group, flattened, with the line it starts on.
    pub(crate) fn options(&self) -> Vec<OptionText> {
        let flat = self.flatten();
        let mut out = Vec::new();
        collect_options(&self.nodes, self.src, &flat, &mut out);
        out
    }
}

fn collect_options(nodes: &[Node], src: &str, flat: &str, out: &mut Vec<OptionText>) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Literal(inner) => collect_options(inner, src, flat, out),
            Node::Choice(choice) => {
                for (range, option) in &choice.options {
                    out.push(OptionText {
                        line: line_of(src, range.start),
                        text: flat.get(range.clone()).unwrap_or_default().to_owned(),
                    });
                    collect_options(option, src, flat, out);
                }
            }
        }
    }
}

/// The option to take for group `id` of `n` options.
fn pick(seed: u64, salt: &str, id: u64, n: usize) -> usize {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(salt.as_bytes())
        .chain_update(id.to_le_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // n is tiny next to 2^64, so the modulo bias is negligible.
    (u64::from_le_bytes(first) % n.max(1) as u64) as usize
}

/// 1-based line number of byte `offset`.
pub(crate) fn line_of(src: &str, offset: usize) -> u32 {
    let before = src.get(..offset).unwrap_or(src);
    u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn resolve(src: &str, seed: u64) -> String {
        Spintax::parse(src).unwrap().resolve(seed, "body")
    }

    fn outcomes(src: &str) -> BTreeSet<String> {
        (0..64).map(|seed| resolve(src, seed)).collect()
    }

    #[test]
    fn picks_one_option_per_group_and_covers_all_across_seeds() {
        let seen = outcomes("{Hi|Hello|Hey} there, {great|nice} to meet you");
        let expected: BTreeSet<String> = ["Hi", "Hello", "Hey"]
            .iter()
            .flat_map(|g| ["great", "nice"].map(|a| format!("{g} there, {a} to meet you")))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_same_seed_gives_the_same_text() {
        let src = "{a|b|c|d} {e|f|g|h} {i|{j|k}}";
        for seed in [0, 1, 42, u64::MAX] {
            assert_eq!(resolve(src, seed), resolve(src, seed));
        }
        // Different seeds do not all agree.
        let distinct: BTreeSet<String> = (0..16).map(|s| resolve(src, s)).collect();
        assert!(distinct.len() > 1);
    }

    #[test]
    fn the_salt_decorrelates_parts() {
        let spintax = Spintax::parse("{a|b|c|d|e|f|g|h}").unwrap();
        let differs = (0..32).any(|s| spintax.resolve(s, "subject") != spintax.resolve(s, "body"));
        assert!(differs);
    }

    #[test]
    fn nested_groups_resolve_to_leaves() {
        assert_eq!(
            outcomes("{a|{b|c}}"),
            ["a", "b", "c"].map(String::from).into_iter().collect()
        );
        assert_eq!(
            outcomes("x{1|2{3|4}}y"),
            ["x1y", "x23y", "x24y"]
                .map(String::from)
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn jinja_tags_are_never_spintax() {
        let src = r#"{{ name | default("a|b") }} {% set d = {"k": "{x|y}"} %}{# {c|d} #}"#;
        assert_eq!(outcomes(src), BTreeSet::from([src.to_owned()]));
        let src = "{Hi {{ name | upper }}|Hello {{ name | lower }}}";
        assert_eq!(
            outcomes(src),
            BTreeSet::from([
                "Hi {{ name | upper }}".to_owned(),
                "Hello {{ name | lower }}".to_owned()
            ])
        );
    }

    #[test]
    fn pipes_outside_groups_and_single_option_braces_stay() {
        assert_eq!(resolve("Acme | Partners", 3), "Acme | Partners");
        assert_eq!(resolve("Hi {name}, {}", 3), "Hi {name}, {}");
        assert_eq!(
            outcomes("{ {a|b} }"),
            BTreeSet::from(["{ a }".to_owned(), "{ b }".to_owned()])
        );
    }

    #[test]
    fn unbalanced_braces_are_errors_with_their_line() {
        let e = Spintax::parse("Hi\nthere {a|b").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("never closed"), "{}", e.message);
        let e = Spintax::parse("ok\n\nsmile :}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("closes no spintax group"),
            "{}",
            e.message
        );
        let e = Spintax::parse("{a|{b|c}").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn flatten_blanks_spintax_syntax_and_keeps_offsets() {
        let src = "{Hi|Hello}\n{a|{b|\nc}} {name} x|y";
        let flat = Spintax::parse(src).unwrap().flatten();
        assert_eq!(flat, " Hi Hello \n a  b \nc   {name} x|y");
        assert_eq!(flat.len(), src.len());
    }

    #[test]
    fn options_are_listed_with_their_lines() {
        let options = Spintax::parse("x\n{a|\nb{c|d}}").unwrap().options();
        let listed: Vec<(u32, &str)> = options.iter().map(|o| (o.line, o.text.as_str())).collect();
        assert_eq!(listed, vec![(2, "a"), (2, "\nb c d "), (3, "c"), (3, "d")]);
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(
            outcomes("{Grüß|Hallo} 👋 {{ name }}"),
            BTreeSet::from([
                "Grüß 👋 {{ name }}".to_owned(),
                "Hallo 👋 {{ name }}".to_owned()
            ])
        );
    }
}
