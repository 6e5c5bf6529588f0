//! Markdown to safe HTML: pulldown-cmark renders, ammonia keeps only harmless markup.
//! Everything typed by people (and imported draft text) goes through here before display.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("nofollow ugc noopener noreferrer"))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .rm_tags(&["img"]);
    b
});

pub fn to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    );
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, parser);
    SANITIZER.clean(&out).to_string()
}

/// The words of a Markdown text without any markup, for labels and short names.
pub fn to_plain_text(markdown: &str) -> String {
    use pulldown_cmark::Event;
    let mut out = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = to_safe_html(
            "hi <script>alert(1)</script> <a href=\"javascript:alert(1)\" onclick=\"x()\">x</a>",
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("onclick"));
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            to_plain_text("Hello <b>x</b> *there* [link](javascript:alert(1))"),
            "Hello x there link"
        );
    }

    #[test]
    fn links_are_marked_as_user_content() {
        let html = to_safe_html("[site](https://example.org)");
        assert!(
            html.contains("rel=\"nofollow ugc noopener noreferrer\""),
            "{html}"
        );
    }
}
