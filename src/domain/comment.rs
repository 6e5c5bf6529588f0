//! Comment input parsed once.

use crate::error::FieldError;

/// Where a commenter stands on the provision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stance {
    Support,
    Object,
    ProposeChange,
    Question,
}

impl Stance {
    pub const ALL: [Stance; 4] = [
        Stance::Support,
        Stance::Object,
        Stance::ProposeChange,
        Stance::Question,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Support => "support",
            Stance::Object => "object",
            Stance::ProposeChange => "propose_change",
            Stance::Question => "question",
        }
    }

    pub fn parse(s: &str) -> Result<Stance, FieldError> {
        Stance::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "stance",
                    "Choose whether you support, object, propose a change or ask a question",
                )
            })
    }
}

pub const BODY_MAX: usize = 10_000;
pub const QUOTE_MAX: usize = 2_000;

/// The Markdown text of a comment: 1 to 10,000 characters, line endings normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

fn clean(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn check_chars(field: &'static str, value: &str) -> Result<(), FieldError> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "The text contains control characters",
        ));
    }
    Ok(())
}

impl CommentBody {
    pub fn parse(raw: &str) -> Result<CommentBody, FieldError> {
        let value = clean(raw);
        let len = value.chars().count();
        if len == 0 {
            return Err(FieldError::new("body", "Write your comment"));
        }
        if len > BODY_MAX {
            return Err(FieldError::new(
                "body",
                format!("The comment must be at most {BODY_MAX} characters (it has {len})"),
            ));
        }
        check_chars("body", &value)?;
        Ok(CommentBody(value))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional new wording proposed for the provision.
pub fn parse_wording(raw: &str) -> Result<Option<String>, FieldError> {
    let value = clean(raw);
    if value.is_empty() {
        return Ok(None);
    }
    let len = value.chars().count();
    if len > BODY_MAX {
        return Err(FieldError::new(
            "proposed_wording",
            format!("The proposed wording must be at most {BODY_MAX} characters (it has {len})"),
        ));
    }
    check_chars("proposed_wording", &value)?;
    Ok(Some(value))
}

/// Optional span of the provision's text being commented on.
pub fn parse_quote(raw: &str) -> Result<Option<String>, FieldError> {
    let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > QUOTE_MAX {
        return Err(FieldError::new(
            "quote",
            format!("The quotation must be at most {QUOTE_MAX} characters"),
        ));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_bounded() {
        assert!(CommentBody::parse("  ").is_err());
        assert!(CommentBody::parse(&"x".repeat(10_000)).is_ok());
        assert!(CommentBody::parse(&"x".repeat(10_001)).is_err());
        assert_eq!(CommentBody::parse("a\r\nb ").unwrap().as_str(), "a\nb");
    }

    #[test]
    fn stances_round_trip() {
        for s in Stance::ALL {
            assert_eq!(Stance::parse(s.as_str()).unwrap(), s);
        }
        assert_eq!(Stance::parse("meh").unwrap_err().field, "stance");
    }
}
