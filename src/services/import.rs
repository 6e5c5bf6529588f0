//! Import of draft normative acts (laws, concepts, decrees) from Markdown.
//!
//! [`parse`] / [`parse_bytes`] turn the Markdown text of a draft into a flat,
//! document-ordered list of provisions (chapters, sections, articles and
//! paragraphs), each with a positional key such as `ch2.art5.p3`.
//! [`rekey`] then re-keys a freshly parsed (edited) text against the provisions
//! of the previous import so that unchanged provisions keep their old keys.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// The kind of a provision of a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionKind {
    Chapter,
    Section,
    Article,
    Paragraph,
}

impl ProvisionKind {
    /// The stable textual name of the kind (as stored in the database).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProvisionKind::Chapter => "chapter",
            ProvisionKind::Section => "section",
            ProvisionKind::Article => "article",
            ProvisionKind::Paragraph => "paragraph",
        }
    }

    /// The inverse of [`ProvisionKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chapter" => Some(ProvisionKind::Chapter),
            "section" => Some(ProvisionKind::Section),
            "article" => Some(ProvisionKind::Article),
            "paragraph" => Some(ProvisionKind::Paragraph),
            _ => None,
        }
    }
}

/// One provision of a parsed draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedProvision {
    /// Stable key, e.g. `ch2.art5.p3`.
    pub key: String,
    pub kind: ProvisionKind,
    /// 0 for top-level units (chapters, or articles/paragraphs outside
    /// chapters), +1 per container level.
    pub depth: i32,
    /// The number as written, e.g. `Chapter 2`, `Article 5`, `Статья 5`, `1.`;
    /// `None` for plain paragraphs.
    pub label: Option<String>,
    /// Heading text without the label; `None` for paragraphs.
    pub heading: Option<String>,
    /// Inline Markdown source of a paragraph or list item (trimmed); empty for
    /// chapter/section/article headings.
    pub body: String,
    /// 1-based source line where the provision starts.
    pub line: usize,
}

/// The result of parsing a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDraft {
    /// Taken from a single leading H1.
    pub title: Option<String>,
    pub provisions: Vec<ParsedProvision>,
}

/// Why a file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the file is not valid UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("line {line}: control characters are not allowed")]
    ControlCharacter { line: usize },
    #[error("no provisions found: the text has no headings, articles or paragraphs")]
    NoProvisions,
    #[error("line {line}: {label} appears twice in the same chapter (first on line {first_line})")]
    DuplicateArticle {
        line: usize,
        first_line: usize,
        label: String,
    },
}

/// A provision of the previous import, as input to [`rekey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OldProvision<'a> {
    pub key: &'a str,
    pub kind: ProvisionKind,
    pub label: Option<&'a str>,
    pub heading: Option<&'a str>,
    pub body: &'a str,
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Checks the size (`bytes.len() > max_bytes` -> [`ImportError::TooLarge`]),
/// UTF-8 validity and control characters (anything in Unicode category Cc
/// except `\n`, `\r`, `\t`), then parses the text with [`parse`].
pub fn parse_bytes(bytes: &[u8], max_bytes: usize) -> Result<ParsedDraft, ImportError> {
    if bytes.len() > max_bytes {
        return Err(ImportError::TooLarge { limit: max_bytes });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    parse(text)
}

/// Parses the Markdown text of a draft into its title and provisions.
///
/// Also rejects control characters and empty (whitespace-only) text, so it is
/// safe to call directly on text that did not come through [`parse_bytes`].
pub fn parse(text: &str) -> Result<ParsedDraft, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_control_characters(text)?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    // Normalise line endings so that offsets, line numbers and line joining
    // only ever have to deal with `\n`.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let blocks = extract_blocks(&text);
    build(blocks)
}

fn check_control_characters(text: &str) -> Result<(), ImportError> {
    let mut line = 1;
    let mut prev_cr = false;
    for c in text.chars() {
        match c {
            // `\r\n` is one line break, a lone `\r` is one too.
            '\n' if prev_cr => {}
            '\n' | '\r' => line += 1,
            '\t' => {}
            c if c.is_control() => return Err(ImportError::ControlCharacter { line }),
            _ => {}
        }
        prev_cr = c == '\r';
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Phase 1: Markdown events -> flat list of blocks
// ---------------------------------------------------------------------------

/// A block of the source, before structure is assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// A heading at document level (not inside a list or block quote).
    /// `text` holds its trimmed source lines separated by `\n`.
    Heading {
        level: u32,
        text: String,
        line: usize,
    },
    /// A paragraph, list item text, or a raw block (code, table, HTML).
    Para {
        /// For `pre == false`: trimmed source lines separated by `\n`
        /// (markers stripped). For `pre == true`: the final body.
        text: String,
        line: usize,
        /// A paragraph directly at document level (may start an article).
        top_level: bool,
        pre: bool,
    },
    /// Start of an item of an ordered list at document level.
    ClauseStart { number: String, line: usize },
    /// End of such an item.
    ClauseEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Quote,
    List { clause: bool },
    Item { clause: bool },
}

/// Accumulates the source range of the inline content of one text block.
#[derive(Debug)]
struct Collector {
    range: Option<Range<usize>>,
    heading: Option<u32>,
    /// `false` for the implicit paragraph of a tight list item.
    explicit: bool,
}

struct Extractor<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
    stack: Vec<Frame>,
    collector: Option<Collector>,
    blocks: Vec<Block>,
}

impl<'t> Extractor<'t> {
    fn new(text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Extractor {
            text,
            line_starts,
            stack: Vec::new(),
            collector: None,
            blocks: Vec::new(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    fn quote_depth(&self) -> usize {
        self.stack.iter().filter(|f| **f == Frame::Quote).count()
    }

    /// Extends the current collector (starting an implicit one for the text of
    /// a tight list item) with the source range of an inline event.
    fn inline(&mut self, range: Range<usize>) {
        let collector = self.collector.get_or_insert(Collector {
            range: None,
            heading: None,
            explicit: false,
        });
        collector.range = Some(match collector.range.take() {
            None => range,
            Some(r) => r.start.min(range.start)..r.end.max(range.end),
        });
    }

    /// Finishes the current collector, if any, emitting its block.
    fn flush(&mut self) {
        let Some(collector) = self.collector.take() else {
            return;
        };
        let Some(range) = collector.range else {
            return;
        };
        let text = normalize_lines(&self.text[range.clone()], self.quote_depth());
        if text.is_empty() {
            return;
        }
        let line = self.line_of(range.start);
        let top_level = self.stack.is_empty();
        let block = match collector.heading {
            Some(level) if top_level => Block::Heading { level, text, line },
            _ => Block::Para {
                text,
                line,
                top_level: top_level && collector.explicit,
                pre: false,
            },
        };
        self.blocks.push(block);
    }

    /// Emits a code block, table or HTML block as one preformatted paragraph.
    fn raw_block(&mut self, range: Range<usize>, html: bool) {
        let depth = self.quote_depth();
        let line_start = self.text[..range.start].rfind('\n').map_or(0, |i| i + 1);
        let prefix = strip_quote_markers(&self.text[line_start..range.start], depth);
        let indent = prefix.chars().count();
        let mut lines = Vec::new();
        for (i, line) in self.text[range.clone()].split('\n').enumerate() {
            if i == 0 {
                lines.push(line);
                continue;
            }
            let line = strip_quote_markers(line, depth);
            let spaces = line.len() - line.trim_start_matches(' ').len();
            lines.push(&line[spaces.min(indent)..]);
        }
        let body = lines.join("\n").trim().to_string();
        if body.is_empty() || (html && is_html_comment(&body)) {
            return;
        }
        let line = self.line_of(range.start);
        self.blocks.push(Block::Para {
            text: body,
            line,
            top_level: false,
            pre: true,
        });
    }

    fn item_number(&self, offset: usize) -> String {
        self.text[offset..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }

    fn run(mut self) -> Vec<Block> {
        let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
        let text = self.text;
        // Depth inside a raw block (code, table, HTML) whose events are skipped.
        let mut raw_depth = 0usize;
        for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
            if raw_depth > 0 {
                match event {
                    Event::Start(Tag::CodeBlock(_) | Tag::Table(_) | Tag::HtmlBlock) => {
                        raw_depth += 1;
                    }
                    Event::End(TagEnd::CodeBlock | TagEnd::Table | TagEnd::HtmlBlock) => {
                        raw_depth -= 1;
                    }
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Start(tag) => match tag {
                    Tag::Emphasis
                    | Tag::Strong
                    | Tag::Strikethrough
                    | Tag::Superscript
                    | Tag::Subscript
                    | Tag::Link { .. }
                    | Tag::Image { .. } => self.inline(range),
                    Tag::Paragraph => {
                        self.flush();
                        self.collector = Some(Collector {
                            range: None,
                            heading: None,
                            explicit: true,
                        });
                    }
                    Tag::Heading { level, .. } => {
                        self.flush();
                        self.collector = Some(Collector {
                            range: None,
                            heading: Some(level as u32),
                            explicit: true,
                        });
                    }
                    Tag::BlockQuote(_) => {
                        self.flush();
                        self.stack.push(Frame::Quote);
                    }
                    Tag::List(start) => {
                        self.flush();
                        let clause = start.is_some() && self.stack.is_empty();
                        self.stack.push(Frame::List { clause });
                    }
                    Tag::Item => {
                        self.flush();
                        let clause = self.stack.last() == Some(&Frame::List { clause: true });
                        if clause {
                            let number = self.item_number(range.start);
                            let line = self.line_of(range.start);
                            self.blocks.push(Block::ClauseStart { number, line });
                        }
                        self.stack.push(Frame::Item { clause });
                    }
                    Tag::CodeBlock(_) | Tag::Table(_) => {
                        self.flush();
                        self.raw_block(range, false);
                        raw_depth = 1;
                    }
                    Tag::HtmlBlock => {
                        self.flush();
                        self.raw_block(range, true);
                        raw_depth = 1;
                    }
                    _ => self.flush(),
                },
                Event::End(end) => match end {
                    TagEnd::Emphasis
                    | TagEnd::Strong
                    | TagEnd::Strikethrough
                    | TagEnd::Superscript
                    | TagEnd::Subscript
                    | TagEnd::Link
                    | TagEnd::Image => self.inline(range),
                    TagEnd::Paragraph | TagEnd::Heading(_) => self.flush(),
                    TagEnd::BlockQuote(_) | TagEnd::List(_) => {
                        self.flush();
                        self.stack.pop();
                    }
                    TagEnd::Item => {
                        self.flush();
                        if self.stack.pop() == Some(Frame::Item { clause: true }) {
                            self.blocks.push(Block::ClauseEnd);
                        }
                    }
                    _ => self.flush(),
                },
                Event::Text(_)
                | Event::Code(_)
                | Event::InlineMath(_)
                | Event::DisplayMath(_)
                | Event::Html(_)
                | Event::InlineHtml(_)
                | Event::FootnoteReference(_)
                | Event::SoftBreak
                | Event::HardBreak
                | Event::TaskListMarker(_) => self.inline(range),
                Event::Rule => self.flush(),
            }
        }
        self.flush();
        self.blocks
    }
}

fn extract_blocks(text: &str) -> Vec<Block> {
    Extractor::new(text).run()
}

/// Removes up to `depth` block quote markers (`>` plus one optional space)
/// from the start of a line.
fn strip_quote_markers(mut line: &str, depth: usize) -> &str {
    for _ in 0..depth {
        let trimmed = line.trim_start_matches([' ', '\t']);
        match trimmed.strip_prefix('>') {
            Some(rest) => line = rest.strip_prefix(' ').unwrap_or(rest),
            None => break,
        }
    }
    line
}

/// Turns the source of a text block into trimmed, non-empty lines separated by
/// `\n`: continuation lines lose their block quote markers, and backslash hard
/// breaks at the end of a line are dropped.
fn normalize_lines(source: &str, quote_depth: usize) -> String {
    let raw: Vec<&str> = source.split('\n').collect();
    let mut out: Vec<&str> = Vec::with_capacity(raw.len());
    for (i, line) in raw.iter().enumerate() {
        let line = if i == 0 {
            line
        } else {
            strip_quote_markers(line, quote_depth)
        };
        let mut line = line.trim();
        if i + 1 < raw.len() {
            let backslashes = line.len() - line.trim_end_matches('\\').len();
            if backslashes % 2 == 1 {
                line = line[..line.len() - 1].trim_end();
            }
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out.join("\n")
}

/// Joins the `\n`-separated lines produced by [`normalize_lines`].
fn join_lines(text: &str) -> String {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_html_comment(body: &str) -> bool {
    body.len() >= 7
        && body.starts_with("<!--")
        && body.ends_with("-->")
        && body[4..].find("-->") == Some(body.len() - 7)
}

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

/// An article number: `5`, `5-1`, `5.1`, `12a`, `12а`.
const NUM: &str = r"[0-9]+(?:[.\-][0-9]+)*[a-zа-яё]?";
/// A Roman number (upper case only, so words are not taken for numbers).
const ROMAN: &str = r"(?-i:[IVXLCDM]+)";
/// An optional emphasis marker before a label (`**Article 5.** Goals`).
const OPEN: &str = r"^(?P<open>\*{1,3}|_{1,3})?[ \t]*";
/// Characters that may separate a label from its heading.
const SEPARATORS: &[char] = &['.', ':', '—', '–', '-'];
/// A paragraph-form article heading longer than this becomes a paragraph.
const MAX_INLINE_HEADING_CHARS: usize = 200;

static ARTICLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i){OPEN}(?P<label>(?:article|art\.|статья)[ \t]*(?P<num>{NUM})|(?P<knum>{NUM})[ \t]*-?[ \t]*бап)\b"
    ))
    .expect("article regex is valid")
});

static CHAPTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i){OPEN}(?P<label>(?:chapter|глава|раздел|section|part)[ \t]*(?P<num>{NUM}|{ROMAN})|(?P<knum>{NUM}|{ROMAN})[ \t]*-?[ \t]*(?:тарау|бөлім))\b"
    ))
    .expect("chapter regex is valid")
});

static BARE_NUMBER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"{OPEN}(?P<label>(?P<num>[0-9]+(?:\.[0-9]+)*|{ROMAN})\.)"
    ))
    .expect("bare number regex is valid")
});

/// A label found at the start of a heading or paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Labeled {
    /// The label as written, e.g. `Article 5`, `5-бап`, `2.`.
    label: String,
    /// The number inside the label, e.g. `5`, `5.1`, `II`.
    num: Option<String>,
    /// The text after the label and its separator, trimmed.
    rest: String,
    /// Byte offset in the input where `rest` starts.
    rest_offset: usize,
    /// The label was preceded by an emphasis marker.
    emphasized: bool,
    /// The label was followed by a separator (`.`, `:`, `—`, `-`).
    separated: bool,
}

fn split_label(text: &str, re: &Regex) -> Option<Labeled> {
    let caps = re.captures(text)?;
    let label = caps.name("label")?;
    let num = caps
        .name("num")
        .or_else(|| caps.name("knum"))
        .map(|m| m.as_str().to_string());
    let open = caps.name("open").map(|m| m.as_str());

    let mut pos = label.end();
    let mut closed = false;
    let mut separated = false;
    loop {
        let rest = &text[pos..];
        let trimmed = rest.trim_start();
        let skipped = rest.len() - trimmed.len();
        if let Some(open) = open
            && !closed
            && trimmed.starts_with(open)
        {
            pos += skipped + open.len();
            closed = true;
            continue;
        }
        match trimmed.chars().next() {
            Some(c) if SEPARATORS.contains(&c) => {
                pos += skipped + c.len_utf8();
                separated = true;
            }
            _ => {
                pos += skipped;
                break;
            }
        }
    }
    let mut rest = text[pos..].to_string();
    if let Some(open) = open
        && !closed
        && let Some(i) = rest.find(open)
    {
        // The emphasis covers the label and (part of) the heading.
        rest.replace_range(i..i + open.len(), "");
    }
    Some(Labeled {
        label: label.as_str().to_string(),
        num,
        rest: rest.trim().to_string(),
        rest_offset: pos,
        emphasized: open.is_some(),
        separated,
    })
}

/// `Article 5`, `Art. 5`, `Статья 5`, `5-бап` at the start of `text`.
fn article_label(text: &str) -> Option<Labeled> {
    split_label(text, &ARTICLE_RE)
}

/// `Chapter 2`, `Глава 2`, `Раздел 2`, `Section 2`, `Part 2`, `2-тарау`, or a
/// bare `2.` / `II.` at the start of `text`.
fn chapter_label(text: &str) -> Option<Labeled> {
    if let Some(l) = split_label(text, &CHAPTER_RE) {
        return Some(l);
    }
    let caps = BARE_NUMBER_RE.captures(text)?;
    let end = caps.name("label")?.end();
    if text[end..]
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    let mut labeled = split_label(text, &BARE_NUMBER_RE)?;
    labeled.separated = true;
    Some(labeled)
}

/// Normalises a written article number for use in a key: lowercase
/// `[0-9a-z-]` (`5.1` -> `5-1`, `12a` -> `12a`, `12а` -> `12a`).
fn key_number(num: &str) -> String {
    let mut out = String::new();
    for c in num.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some(latin) = transliterate(c) {
            out.push_str(latin);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'й' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "c",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "sch",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

// ---------------------------------------------------------------------------
// Phase 2: blocks -> provisions
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Scope {
    key: String,
    depth: i32,
    paragraphs: usize,
    sections: usize,
    articles: usize,
}

impl Scope {
    fn new(key: String, depth: i32) -> Self {
        Scope {
            key,
            depth,
            paragraphs: 0,
            sections: 0,
            articles: 0,
        }
    }

    fn child_key(&self, local: &str) -> String {
        if self.key.is_empty() {
            local.to_string()
        } else {
            format!("{}.{local}", self.key)
        }
    }
}

struct Builder {
    top: Scope,
    chapter: Option<Scope>,
    section: Option<Scope>,
    article: Option<Scope>,
    /// The open article comes from a numbered clause (ordered list item).
    clause_open: bool,
    chapters: usize,
    /// Normalised article numbers seen in the current chapter -> first line.
    article_numbers: HashMap<String, usize>,
    keys: HashSet<String>,
    out: Vec<ParsedProvision>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            top: Scope::new(String::new(), -1),
            chapter: None,
            section: None,
            article: None,
            clause_open: false,
            chapters: 0,
            article_numbers: HashMap::new(),
            keys: HashSet::new(),
            out: Vec::new(),
        }
    }

    /// The innermost open chapter/section (or the document itself).
    fn container(&mut self) -> &mut Scope {
        self.section
            .as_mut()
            .or(self.chapter.as_mut())
            .unwrap_or(&mut self.top)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        key: String,
        kind: ProvisionKind,
        depth: i32,
        label: Option<String>,
        heading: Option<String>,
        body: String,
        line: usize,
    ) {
        debug_assert!(!self.keys.contains(&key), "duplicate positional key {key}");
        self.keys.insert(key.clone());
        self.out.push(ParsedProvision {
            key,
            kind,
            depth,
            label,
            heading,
            body,
            line,
        });
    }

    fn close_article(&mut self) {
        self.article = None;
        self.clause_open = false;
    }

    fn chapter(&mut self, label: Option<String>, heading: Option<String>, line: usize) {
        self.close_article();
        self.section = None;
        self.chapters += 1;
        self.article_numbers.clear();
        let key = format!("ch{}", self.chapters);
        self.push(
            key.clone(),
            ProvisionKind::Chapter,
            0,
            label,
            heading,
            String::new(),
            line,
        );
        self.chapter = Some(Scope::new(key, 0));
    }

    fn section(&mut self, label: Option<String>, heading: Option<String>, line: usize) {
        self.close_article();
        self.section = None;
        let parent = self.chapter.as_mut().unwrap_or(&mut self.top);
        parent.sections += 1;
        let key = parent.child_key(&format!("s{}", parent.sections));
        let depth = parent.depth + 1;
        self.push(
            key.clone(),
            ProvisionKind::Section,
            depth,
            label,
            heading,
            String::new(),
            line,
        );
        self.section = Some(Scope::new(key, depth));
    }

    fn article(
        &mut self,
        label: Option<String>,
        num: Option<&str>,
        heading: Option<String>,
        line: usize,
    ) -> Result<(), ImportError> {
        self.close_article();
        let number = num.map(key_number).filter(|n| !n.is_empty());
        if let Some(number) = &number {
            if let Some(&first_line) = self.article_numbers.get(number) {
                return Err(ImportError::DuplicateArticle {
                    line,
                    first_line,
                    label: label.unwrap_or_else(|| number.clone()),
                });
            }
            self.article_numbers.insert(number.clone(), line);
        }
        let container = self.container();
        container.articles += 1;
        let ordinal = container.articles;
        let depth = container.depth + 1;
        let base = match &number {
            Some(n) => container.child_key(&format!("art{n}")),
            None => container.child_key(&format!("art{ordinal}")),
        };
        // Numbered articles are unique per chapter (checked above), so only an
        // unnumbered article (keyed by ordinal) can collide with another key.
        let mut key = base.clone();
        let mut n = 2;
        while self.keys.contains(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        self.push(
            key.clone(),
            ProvisionKind::Article,
            depth,
            label,
            heading,
            String::new(),
            line,
        );
        self.article = Some(Scope::new(key, depth));
        Ok(())
    }

    fn paragraph(&mut self, body: String, line: usize) {
        if body.is_empty() {
            return;
        }
        let scope = match self.article.as_mut() {
            Some(article) => article,
            None => self.container(),
        };
        scope.paragraphs += 1;
        let key = scope.child_key(&format!("p{}", scope.paragraphs));
        let depth = scope.depth + 1;
        self.push(key, ProvisionKind::Paragraph, depth, None, None, body, line);
    }
}

fn is_title_candidate(block: &Block) -> bool {
    match block {
        Block::Heading { level: 1, text, .. } => {
            let joined = join_lines(text);
            article_label(&joined).is_none() && chapter_label(&joined).is_none()
        }
        _ => false,
    }
}

fn build(mut blocks: Vec<Block>) -> Result<ParsedDraft, ImportError> {
    let mut title = None;
    if blocks.first().is_some_and(is_title_candidate)
        && let Block::Heading { text, .. } = blocks.remove(0)
    {
        title = non_empty(join_lines(&text));
    }

    // The shallowest level used by non-article headings is the chapter level.
    let chapter_level = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, text, .. } if article_label(&join_lines(text)).is_none() => {
                Some(*level)
            }
            _ => None,
        })
        .min();

    let mut b = Builder::new();
    for block in blocks {
        match block {
            Block::Heading { level, text, line } => {
                let joined = join_lines(&text);
                if let Some(l) = article_label(&joined) {
                    b.article(Some(l.label), l.num.as_deref(), non_empty(l.rest), line)?;
                    continue;
                }
                let (label, heading) = match chapter_label(&joined) {
                    Some(l) => (Some(l.label), non_empty(l.rest)),
                    None => (None, Some(joined)),
                };
                if Some(level) == chapter_level {
                    b.chapter(label, heading, line);
                } else {
                    b.section(label, heading, line);
                }
            }
            Block::Para {
                text,
                line,
                top_level,
                pre,
            } => {
                if pre {
                    b.paragraph(text, line);
                    continue;
                }
                let article = if top_level {
                    article_label(&text)
                        .filter(|l| l.emphasized || l.separated || l.rest.is_empty())
                } else {
                    None
                };
                let Some(l) = article else {
                    b.paragraph(join_lines(&text), line);
                    continue;
                };
                let rest_line = line + text[..l.rest_offset].matches('\n').count();
                let short =
                    !l.rest.contains('\n') && l.rest.chars().count() <= MAX_INLINE_HEADING_CHARS;
                let (heading, first_paragraph) = if l.rest.is_empty() {
                    (None, None)
                } else if short {
                    (Some(l.rest), None)
                } else {
                    (None, Some(join_lines(&l.rest)))
                };
                b.article(Some(l.label), l.num.as_deref(), heading, line)?;
                if let Some(body) = first_paragraph {
                    b.paragraph(body, rest_line);
                }
            }
            Block::ClauseStart { number, line } => {
                if b.article.is_none() {
                    let label = format!("{number}.");
                    b.article(Some(label), Some(&number), None, line)?;
                    b.clause_open = true;
                }
            }
            Block::ClauseEnd => {
                if b.clause_open {
                    b.close_article();
                }
            }
        }
    }

    if b.out.is_empty() {
        return Err(ImportError::NoProvisions);
    }
    Ok(ParsedDraft {
        title,
        provisions: b.out,
    })
}

// ---------------------------------------------------------------------------
// Re-keying
// ---------------------------------------------------------------------------

/// Lowercases, collapses whitespace and trims trailing punctuation.
fn normalize_for_comparison(text: &str) -> String {
    let lower = text.to_lowercase();
    let collapsed = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_end_matches(|c: char| c.is_whitespace() || ".,;:!?…".contains(c))
        .to_string()
}

/// The text two provisions of the same kind must share to count as unchanged:
/// heading+body for paragraphs, label+heading(+body) for containers.
fn comparable(
    kind: ProvisionKind,
    label: Option<&str>,
    heading: Option<&str>,
    body: &str,
) -> String {
    match kind {
        ProvisionKind::Paragraph => {
            normalize_for_comparison(&format!("{} {body}", heading.unwrap_or("")))
        }
        _ => format!(
            "{}\u{1f}{}\u{1f}{}",
            normalize_for_comparison(label.unwrap_or("")),
            normalize_for_comparison(heading.unwrap_or("")),
            normalize_for_comparison(body)
        ),
    }
}

/// Re-keys `new` (freshly parsed, positional keys) against the provisions of
/// the previous import so that provisions that survived keep their keys:
///
/// 1. unchanged (possibly moved) provisions take the key of an unclaimed old
///    provision of the same kind with identical normalized text, preferring
///    the one whose key equals the new positional key, else the first;
/// 2. still-unkeyed provisions whose positional key is the key of an
///    unclaimed old provision of the same kind take it (edited in place);
/// 3. the rest get their positional key if it is unused by any old or newly
///    assigned key, else the positional key + `-n2`, `-n3`, … (first free).
///
/// Children keep whatever key the passes give them: keys are opaque.
pub fn rekey(new: &mut [ParsedProvision], old: &[OldProvision<'_>]) {
    let mut claimed = vec![false; old.len()];
    let mut assigned: Vec<Option<String>> = vec![None; new.len()];

    // Pass 1: unchanged, possibly moved.
    let mut by_text: HashMap<(&'static str, String), Vec<usize>> = HashMap::new();
    for (j, o) in old.iter().enumerate() {
        let text = comparable(o.kind, o.label, o.heading, o.body);
        by_text.entry((o.kind.as_str(), text)).or_default().push(j);
    }
    for (i, p) in new.iter().enumerate() {
        let text = comparable(p.kind, p.label.as_deref(), p.heading.as_deref(), &p.body);
        let Some(candidates) = by_text.get(&(p.kind.as_str(), text)) else {
            continue;
        };
        let free = || candidates.iter().copied().filter(|&j| !claimed[j]);
        let pick = free()
            .find(|&j| old[j].key == p.key)
            .or_else(|| free().next());
        if let Some(j) = pick {
            claimed[j] = true;
            assigned[i] = Some(old[j].key.to_string());
        }
    }

    // Pass 2: edited in place.
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, o) in old.iter().enumerate() {
        by_key.entry(o.key).or_default().push(j);
    }
    for (i, p) in new.iter().enumerate() {
        if assigned[i].is_some() {
            continue;
        }
        let pick = by_key.get(p.key.as_str()).and_then(|js| {
            js.iter()
                .copied()
                .find(|&j| !claimed[j] && old[j].kind == p.kind)
        });
        if let Some(j) = pick {
            claimed[j] = true;
            assigned[i] = Some(old[j].key.to_string());
        }
    }

    // Pass 3: new units.
    let mut used: HashSet<String> = old.iter().map(|o| o.key.to_string()).collect();
    used.extend(assigned.iter().flatten().cloned());
    for (i, p) in new.iter().enumerate() {
        if assigned[i].is_some() {
            continue;
        }
        let mut key = p.key.clone();
        let mut n = 2;
        while used.contains(&key) {
            key = format!("{}-n{n}", p.key);
            n += 1;
        }
        used.insert(key.clone());
        assigned[i] = Some(key);
    }

    for (p, key) in new.iter_mut().zip(assigned) {
        if let Some(key) = key {
            p.key = key;
        }
    }
    debug_assert!(
        {
            let mut seen = HashSet::new();
            new.iter().all(|p| seen.insert(p.key.as_str()))
        },
        "rekey produced duplicate keys"
    );
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use ProvisionKind::{Article, Chapter, Paragraph, Section};

    type Row = (
        &'static str,
        ProvisionKind,
        i32,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
    );

    type OwnedRow = (
        String,
        ProvisionKind,
        i32,
        Option<String>,
        Option<String>,
        String,
    );

    fn rows(draft: &ParsedDraft) -> Vec<OwnedRow> {
        draft
            .provisions
            .iter()
            .map(|p| {
                (
                    p.key.clone(),
                    p.kind,
                    p.depth,
                    p.label.clone(),
                    p.heading.clone(),
                    p.body.clone(),
                )
            })
            .collect()
    }

    fn expected(rows: &[Row]) -> Vec<OwnedRow> {
        rows.iter()
            .map(|(k, kind, d, l, h, b)| {
                (
                    k.to_string(),
                    *kind,
                    *d,
                    l.map(str::to_string),
                    h.map(str::to_string),
                    b.to_string(),
                )
            })
            .collect()
    }

    fn keys(provisions: &[ParsedProvision]) -> Vec<&str> {
        provisions.iter().map(|p| p.key.as_str()).collect()
    }

    fn as_old(provisions: &[ParsedProvision]) -> Vec<OldProvision<'_>> {
        provisions
            .iter()
            .map(|p| OldProvision {
                key: &p.key,
                kind: p.kind,
                label: p.label.as_deref(),
                heading: p.heading.as_deref(),
                body: &p.body,
            })
            .collect()
    }

    fn assert_unique(provisions: &[ParsedProvision]) {
        let mut seen = HashSet::new();
        for p in provisions {
            assert!(seen.insert(p.key.clone()), "duplicate key {}", p.key);
        }
    }

    const THREE_CHAPTERS: &str = "\
## Chapter 1. General provisions

### Article 1. Purpose

The purpose of this Law is to ensure *transparency*
of public consultations.

Consultations shall be:

- open;
- inclusive;
- accountable.

### Article 2. Scope

This Law applies to all [draft acts](https://example.org).

## Chapter 2. Procedure

1. A draft is published on the portal.
2. Comments are accepted for 15 days:
   - from individuals;
   - from legal entities.

Comments are published.

## Глава 3. Заключительные положения

### Статья 7. Вступление в силу

Настоящий Закон вступает в силу со дня его официального опубликования.
";

    #[test]
    fn three_chapter_draft() {
        let draft = parse(THREE_CHAPTERS).unwrap();
        assert_eq!(draft.title, None);
        let want: &[Row] = &[
            (
                "ch1",
                Chapter,
                0,
                Some("Chapter 1"),
                Some("General provisions"),
                "",
            ),
            (
                "ch1.art1",
                Article,
                1,
                Some("Article 1"),
                Some("Purpose"),
                "",
            ),
            (
                "ch1.art1.p1",
                Paragraph,
                2,
                None,
                None,
                "The purpose of this Law is to ensure *transparency* of public consultations.",
            ),
            (
                "ch1.art1.p2",
                Paragraph,
                2,
                None,
                None,
                "Consultations shall be:",
            ),
            ("ch1.art1.p3", Paragraph, 2, None, None, "open;"),
            ("ch1.art1.p4", Paragraph, 2, None, None, "inclusive;"),
            ("ch1.art1.p5", Paragraph, 2, None, None, "accountable."),
            ("ch1.art2", Article, 1, Some("Article 2"), Some("Scope"), ""),
            (
                "ch1.art2.p1",
                Paragraph,
                2,
                None,
                None,
                "This Law applies to all [draft acts](https://example.org).",
            ),
            ("ch2", Chapter, 0, Some("Chapter 2"), Some("Procedure"), ""),
            ("ch2.art1", Article, 1, Some("1."), None, ""),
            (
                "ch2.art1.p1",
                Paragraph,
                2,
                None,
                None,
                "A draft is published on the portal.",
            ),
            ("ch2.art2", Article, 1, Some("2."), None, ""),
            (
                "ch2.art2.p1",
                Paragraph,
                2,
                None,
                None,
                "Comments are accepted for 15 days:",
            ),
            ("ch2.art2.p2", Paragraph, 2, None, None, "from individuals;"),
            (
                "ch2.art2.p3",
                Paragraph,
                2,
                None,
                None,
                "from legal entities.",
            ),
            (
                "ch2.p1",
                Paragraph,
                1,
                None,
                None,
                "Comments are published.",
            ),
            (
                "ch3",
                Chapter,
                0,
                Some("Глава 3"),
                Some("Заключительные положения"),
                "",
            ),
            (
                "ch3.art7",
                Article,
                1,
                Some("Статья 7"),
                Some("Вступление в силу"),
                "",
            ),
            (
                "ch3.art7.p1",
                Paragraph,
                2,
                None,
                None,
                "Настоящий Закон вступает в силу со дня его официального опубликования.",
            ),
        ];
        assert_eq!(rows(&draft), expected(want));
        let lines: Vec<usize> = draft.provisions.iter().map(|p| p.line).collect();
        assert_eq!(
            lines,
            vec![
                1, 3, 5, 8, 10, 11, 12, 14, 16, 18, 20, 20, 21, 21, 22, 23, 25, 27, 29, 31
            ]
        );
    }

    #[test]
    fn title_preamble_and_bold_paragraph_article() {
        let text = "\
# Law on Public Consultations

This Law regulates public consultations.

It is adopted by Parliament.

**Article 3.** Scope

This Law applies to ministries.

**Article 4.** The provisions of this Article apply to all drafts,
including drafts of concepts and decrees.
";
        let draft = parse(text).unwrap();
        assert_eq!(draft.title.as_deref(), Some("Law on Public Consultations"));
        let want: &[Row] = &[
            (
                "p1",
                Paragraph,
                0,
                None,
                None,
                "This Law regulates public consultations.",
            ),
            (
                "p2",
                Paragraph,
                0,
                None,
                None,
                "It is adopted by Parliament.",
            ),
            ("art3", Article, 0, Some("Article 3"), Some("Scope"), ""),
            (
                "art3.p1",
                Paragraph,
                1,
                None,
                None,
                "This Law applies to ministries.",
            ),
            ("art4", Article, 0, Some("Article 4"), None, ""),
            (
                "art4.p1",
                Paragraph,
                1,
                None,
                None,
                "The provisions of this Article apply to all drafts, including drafts of concepts and decrees.",
            ),
        ];
        assert_eq!(rows(&draft), expected(want));
        assert_eq!(draft.provisions[2].line, 7);
        assert_eq!(draft.provisions[4].line, 11);
        assert_eq!(draft.provisions[5].line, 11);
    }

    #[test]
    fn bold_article_variants() {
        let text = "\
**Article 1**. Goals

**Article 2. Definitions**

**Article 3**

Article 4: Principles

Article 5 of the Code applies mutatis mutandis.
";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("art1", Article, 0, Some("Article 1"), Some("Goals"), ""),
            (
                "art2",
                Article,
                0,
                Some("Article 2"),
                Some("Definitions"),
                "",
            ),
            ("art3", Article, 0, Some("Article 3"), None, ""),
            (
                "art4",
                Article,
                0,
                Some("Article 4"),
                Some("Principles"),
                "",
            ),
            (
                "art4.p1",
                Paragraph,
                1,
                None,
                None,
                "Article 5 of the Code applies mutatis mutandis.",
            ),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn long_bold_article_rest_becomes_paragraph() {
        let long = "x".repeat(201);
        let text = format!("**Article 1.** {long}\n");
        let draft = parse(&text).unwrap();
        assert_eq!(draft.provisions.len(), 2);
        assert_eq!(draft.provisions[0].heading, None);
        assert_eq!(draft.provisions[1].key, "art1.p1");
        assert_eq!(draft.provisions[1].body, long);
    }

    #[test]
    fn article_label_forms_and_numbers() {
        let text = "\
## Chapter I

### Art. 5.1 Definitions

### Статья 12a. Особые случаи

### 5-бап. Мақсаттар

### 6 бап

### Article 5-2 — Terms

### Статья 12б
";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("ch1", Chapter, 0, Some("Chapter I"), None, ""),
            (
                "ch1.art5-1",
                Article,
                1,
                Some("Art. 5.1"),
                Some("Definitions"),
                "",
            ),
            (
                "ch1.art12a",
                Article,
                1,
                Some("Статья 12a"),
                Some("Особые случаи"),
                "",
            ),
            ("ch1.art5", Article, 1, Some("5-бап"), Some("Мақсаттар"), ""),
            ("ch1.art6", Article, 1, Some("6 бап"), None, ""),
            (
                "ch1.art5-2",
                Article,
                1,
                Some("Article 5-2"),
                Some("Terms"),
                "",
            ),
            ("ch1.art12b", Article, 1, Some("Статья 12б"), None, ""),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn chapter_and_section_levels_and_labels() {
        let text = "\
# Concept of digital consultations

Intro.

# Раздел 1. Общие положения

## 1.1. Цели

Text one.

### Deep heading

Text two.

# II. Implementation

## Part 3 — Timeline

# 2-тарау. Қорытынды

## Untitled section
";
        let draft = parse(text).unwrap();
        assert_eq!(
            draft.title.as_deref(),
            Some("Concept of digital consultations")
        );
        let want: &[Row] = &[
            ("p1", Paragraph, 0, None, None, "Intro."),
            (
                "ch1",
                Chapter,
                0,
                Some("Раздел 1"),
                Some("Общие положения"),
                "",
            ),
            ("ch1.s1", Section, 1, Some("1.1."), Some("Цели"), ""),
            ("ch1.s1.p1", Paragraph, 2, None, None, "Text one."),
            ("ch1.s2", Section, 1, None, Some("Deep heading"), ""),
            ("ch1.s2.p1", Paragraph, 2, None, None, "Text two."),
            ("ch2", Chapter, 0, Some("II."), Some("Implementation"), ""),
            ("ch2.s1", Section, 1, Some("Part 3"), Some("Timeline"), ""),
            ("ch3", Chapter, 0, Some("2-тарау"), Some("Қорытынды"), ""),
            ("ch3.s1", Section, 1, None, Some("Untitled section"), ""),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn leading_labelled_h1_is_not_a_title() {
        let text = "# Chapter 1. General\n\nText.\n\n# Chapter 2. Final\n\nMore.\n";
        let draft = parse(text).unwrap();
        assert_eq!(draft.title, None);
        assert_eq!(keys(&draft.provisions), ["ch1", "ch1.p1", "ch2", "ch2.p1"]);
    }

    #[test]
    fn articles_in_sections_and_sections_without_chapter() {
        let text = "\
## Chapter 1

### Section 1. Basics

#### Article 1. One

Text.

### Section 2. More

#### Article 2. Two
";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("ch1", Chapter, 0, Some("Chapter 1"), None, ""),
            ("ch1.s1", Section, 1, Some("Section 1"), Some("Basics"), ""),
            (
                "ch1.s1.art1",
                Article,
                2,
                Some("Article 1"),
                Some("One"),
                "",
            ),
            ("ch1.s1.art1.p1", Paragraph, 3, None, None, "Text."),
            ("ch1.s2", Section, 1, Some("Section 2"), Some("More"), ""),
            (
                "ch1.s2.art2",
                Article,
                2,
                Some("Article 2"),
                Some("Two"),
                "",
            ),
        ];
        assert_eq!(rows(&draft), expected(want));

        let text = "### Lead-in\n\nText.\n\n## Chapter A\n";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("s1", Section, 0, None, Some("Lead-in"), ""),
            ("s1.p1", Paragraph, 1, None, None, "Text."),
            ("ch1", Chapter, 0, None, Some("Chapter A"), ""),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn top_level_numbered_clauses_and_ordered_lists_inside_articles() {
        let text = "\
1. The Ministry shall publish drafts.
2. The Ministry shall
   collect comments.

   Comments are anonymous.

### Article 9. Terms

1. first term;
2. second term.
";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("art1", Article, 0, Some("1."), None, ""),
            (
                "art1.p1",
                Paragraph,
                1,
                None,
                None,
                "The Ministry shall publish drafts.",
            ),
            ("art2", Article, 0, Some("2."), None, ""),
            (
                "art2.p1",
                Paragraph,
                1,
                None,
                None,
                "The Ministry shall collect comments.",
            ),
            (
                "art2.p2",
                Paragraph,
                1,
                None,
                None,
                "Comments are anonymous.",
            ),
            ("art9", Article, 0, Some("Article 9"), Some("Terms"), ""),
            ("art9.p1", Paragraph, 1, None, None, "first term;"),
            ("art9.p2", Paragraph, 1, None, None, "second term."),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn quotes_code_tables_html_and_breaks() {
        let text = "\
## Chapter 1

> Quoted first line
> continues here.
>
> - quoted item

- item with\\
  hard break

```
let x = 1;
  indented
```

| a | b |
|---|---|
| 1 | 2 |

<div class=\"note\">
Raw <b>html</b>
</div>

<!-- internal drafting note -->

---

Setext heading
--------------
";
        let draft = parse(text).unwrap();
        let want: &[Row] = &[
            ("ch1", Chapter, 0, Some("Chapter 1"), None, ""),
            (
                "ch1.p1",
                Paragraph,
                1,
                None,
                None,
                "Quoted first line continues here.",
            ),
            ("ch1.p2", Paragraph, 1, None, None, "quoted item"),
            ("ch1.p3", Paragraph, 1, None, None, "item with hard break"),
            (
                "ch1.p4",
                Paragraph,
                1,
                None,
                None,
                "```\nlet x = 1;\n  indented\n```",
            ),
            (
                "ch1.p5",
                Paragraph,
                1,
                None,
                None,
                "| a | b |\n|---|---|\n| 1 | 2 |",
            ),
            (
                "ch1.p6",
                Paragraph,
                1,
                None,
                None,
                "<div class=\"note\">\nRaw <b>html</b>\n</div>",
            ),
            ("ch2", Chapter, 0, None, Some("Setext heading"), ""),
        ];
        assert_eq!(rows(&draft), expected(want));
    }

    #[test]
    fn code_block_inside_list_item_is_dedented() {
        let text = "Intro.\n\n- item\n\n  ```\n  code\n    more\n  ```\n";
        let draft = parse(text).unwrap();
        assert_eq!(draft.provisions[2].body, "```\ncode\n  more\n```");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let text = "\u{feff}# Title\r\n\r\n## Chapter 1\r\n\r\nLine one\r\nline two.\r\n";
        let draft = parse(text).unwrap();
        assert_eq!(draft.title.as_deref(), Some("Title"));
        assert_eq!(draft.provisions[1].body, "Line one line two.");
        assert_eq!(draft.provisions[1].line, 5);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(""), Err(ImportError::Empty));
        assert_eq!(parse("  \n\t\n  "), Err(ImportError::Empty));
        assert_eq!(parse_bytes(b"", 100), Err(ImportError::Empty));
        assert_eq!(
            parse_bytes(b"Some text", 4),
            Err(ImportError::TooLarge { limit: 4 })
        );
        assert!(parse_bytes(b"abcd", 4).is_ok());
        assert_eq!(
            parse_bytes(b"Text\n\xff\xfe more", 1000),
            Err(ImportError::NotUtf8 { offset: 5 })
        );
        assert_eq!(
            parse_bytes(b"## Chapter 1\n\nText\x00here\n", 1000),
            Err(ImportError::ControlCharacter { line: 3 })
        );
        assert_eq!(
            parse("Line 1\r\nLine 2\u{7}\n"),
            Err(ImportError::ControlCharacter { line: 2 })
        );
        assert_eq!(
            parse("a\n\u{85}"),
            Err(ImportError::ControlCharacter { line: 2 })
        );
        assert_eq!(parse("\tTabs\tare fine\r\n").map(|_| ()), Ok(()));
        assert_eq!(parse("# Only a title\n"), Err(ImportError::NoProvisions));
        assert_eq!(parse("---\n\n***\n"), Err(ImportError::NoProvisions));
        assert_eq!(
            parse("## Chapter 1\n\n### Article 5. A\n\nText.\n\n### Article 5. B\n"),
            Err(ImportError::DuplicateArticle {
                line: 7,
                first_line: 3,
                label: "Article 5".to_string()
            })
        );
        // The same number in different chapters is fine.
        assert!(parse("## Chapter 1\n\n### Article 5\n\n## Chapter 2\n\n### Article 5\n").is_ok());
        // 5.1 and 5-1 normalise to the same key.
        assert!(matches!(
            parse("### Article 5.1\n\n### Article 5-1\n"),
            Err(ImportError::DuplicateArticle {
                line: 3,
                first_line: 1,
                ..
            })
        ));
        assert_eq!(
            ImportError::DuplicateArticle {
                line: 7,
                first_line: 3,
                label: "Article 5".into()
            }
            .to_string(),
            "line 7: Article 5 appears twice in the same chapter (first on line 3)"
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let inputs = [
            "<!-->",
            "<!---->",
            "#",
            "# \n\n#",
            "**",
            "**Article 1.**",
            "**Article 1.** **",
            "Article 1",
            "1.",
            "1. \n2.",
            "> > > deep\n> > lazy",
            "- \n  - \n    1. x",
            "|a|\n|-|",
            "```\nunterminated",
            "Статья",
            "5-бап",
            "## 1.\n### 1.1.\n#### I.",
            "text\\\nmore\\",
            "\u{a0}x\u{2028}y",
        ];
        for input in inputs {
            if let Ok(draft) = parse(input) {
                assert_unique(&draft.provisions);
                let mut again = draft.provisions.clone();
                rekey(&mut again, &as_old(&draft.provisions));
                assert_eq!(again, draft.provisions);
            }
        }
        assert_eq!(
            parse("<!-- only a comment -->"),
            Err(ImportError::NoProvisions)
        );
    }

    #[test]
    fn kind_round_trip() {
        for kind in [Chapter, Section, Article, Paragraph] {
            assert_eq!(ProvisionKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ProvisionKind::parse("clause"), None);
    }

    #[test]
    fn key_numbers() {
        assert_eq!(key_number("5"), "5");
        assert_eq!(key_number("5.1"), "5-1");
        assert_eq!(key_number("5-1"), "5-1");
        assert_eq!(key_number("12A"), "12a");
        assert_eq!(key_number("12а"), "12a");
    }

    const OLD: &str = "\
## Chapter 1. General

### Article 1. Purpose

Alpha paragraph stays the same.

Beta paragraph will be edited.

Gamma paragraph stays too.

Delta paragraph will be deleted.

### Article 2. Definitions

Definitions text.

## Chapter 2. Final

### Article 3. Entry into force

This Law enters into force.
";

    const NEW: &str = "\
## Chapter 1. General

### Article 1. Purpose

Alpha paragraph stays the same

Beta paragraph has been edited.

A brand new paragraph.

Gamma  paragraph STAYS too.

## Chapter 2. Final

### Article 2. Definitions

Definitions text.

### Article 3. Entry into force

This Law enters into force.

A closing paragraph.
";

    #[test]
    fn rekey_edited_text() {
        let old = parse(OLD).unwrap().provisions;
        assert_eq!(
            keys(&old),
            [
                "ch1",
                "ch1.art1",
                "ch1.art1.p1",
                "ch1.art1.p2",
                "ch1.art1.p3",
                "ch1.art1.p4",
                "ch1.art2",
                "ch1.art2.p1",
                "ch2",
                "ch2.art3",
                "ch2.art3.p1",
            ]
        );
        let mut new = parse(NEW).unwrap().provisions;
        assert_eq!(
            keys(&new),
            [
                "ch1",
                "ch1.art1",
                "ch1.art1.p1",
                "ch1.art1.p2",
                "ch1.art1.p3",
                "ch1.art1.p4",
                "ch2",
                "ch2.art2",
                "ch2.art2.p1",
                "ch2.art3",
                "ch2.art3.p1",
                "ch2.art3.p2",
            ]
        );
        rekey(&mut new, &as_old(&old));
        assert_eq!(
            keys(&new),
            [
                "ch1",
                "ch1.art1",
                "ch1.art1.p1",    // (a) unchanged (modulo case/space/trailing dot)
                "ch1.art1.p2",    // (b) edited in place
                "ch1.art1.p3-n2", // (c) new paragraph, its positional key is taken
                "ch1.art1.p3",    // (c) unchanged one keeps its key although it moved
                "ch2",
                "ch1.art2",    // (e) article moved to chapter 2 keeps its key
                "ch1.art2.p1", //     and so does its unchanged paragraph
                "ch2.art3",
                "ch2.art3.p1",
                "ch2.art3.p2", // new paragraph with a free positional key
            ]
        );
        // (d) the deleted paragraph's key is not reused.
        assert!(!keys(&new).contains(&"ch1.art1.p4"));
        assert_unique(&new);
    }

    #[test]
    fn rekey_against_itself_changes_nothing() {
        for text in [OLD, NEW, THREE_CHAPTERS] {
            let old = parse(text).unwrap().provisions;
            let mut new = old.clone();
            rekey(&mut new, &as_old(&old));
            assert_eq!(new, old);
        }
    }

    #[test]
    fn rekey_twice_keeps_keys_stable() {
        let old = parse(OLD).unwrap().provisions;
        let mut first = parse(NEW).unwrap().provisions;
        rekey(&mut first, &as_old(&old));
        let mut second = parse(NEW).unwrap().provisions;
        rekey(&mut second, &as_old(&first));
        assert_eq!(second, first);
    }

    #[test]
    fn rekey_keys_are_unique_with_repeated_text_and_suffixes() {
        let para = |key: &str, body: &str| ParsedProvision {
            key: key.to_string(),
            kind: Paragraph,
            depth: 0,
            label: None,
            heading: None,
            body: body.to_string(),
            line: 1,
        };
        let old = [
            para("p1", "A"),
            para("p2", "B"),
            para("p2-n2", "C"),
            para("p3", "Same"),
            para("p4", "Same"),
        ];
        let mut new = vec![
            para("p1", "New"),
            para("p2", "A"),
            para("p3", "B"),
            para("p4", "C"),
            para("p5", "Same"),
            para("p6", "Same"),
            para("p7", "Same"),
            para("p8", "Other"),
        ];
        rekey(&mut new, &as_old(&old));
        assert_eq!(
            keys(&new),
            ["p1-n2", "p1", "p2", "p2-n2", "p3", "p4", "p7", "p8"]
        );
        assert_unique(&new);

        // Same text prefers the old provision with the same positional key.
        let old = [para("p1", "Same"), para("p2", "Same")];
        let mut new = vec![para("p1", "X"), para("p2", "Same")];
        rekey(&mut new, &as_old(&old));
        assert_eq!(keys(&new), ["p1", "p2"]);
        assert_unique(&new);
    }

    #[test]
    fn rekey_does_not_match_across_kinds() {
        let old = parse("## Chapter 1\n\nText.\n").unwrap().provisions;
        let mut new = parse("### Article 1\n\nText.\n").unwrap().provisions;
        // new: art1 (article), art1.p1 (paragraph "Text.")
        rekey(&mut new, &as_old(&old));
        assert_eq!(keys(&new), ["art1", "ch1.p1"]);
        assert_unique(&new);
    }
}
