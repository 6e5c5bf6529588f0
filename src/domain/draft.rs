use std::fmt;

use crate::error::FieldError;

/// The kind of normative act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DraftKind {
    Concept,
    Law,
    Code,
    Decree,
    Order,
    Rules,
}

impl DraftKind {
    pub const ALL: [DraftKind; 6] = [
        DraftKind::Concept,
        DraftKind::Law,
        DraftKind::Code,
        DraftKind::Decree,
        DraftKind::Order,
        DraftKind::Rules,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::Concept => "concept",
            DraftKind::Law => "law",
            DraftKind::Code => "code",
            DraftKind::Decree => "decree",
            DraftKind::Order => "order",
            DraftKind::Rules => "rules",
        }
    }

    pub fn parse(s: &str) -> Result<DraftKind, FieldError> {
        DraftKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    format!(
                        "'{}' is not a kind of act; use one of: {}",
                        s.trim(),
                        DraftKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// Where a draft is in its life. Every change goes through [`DraftStatus::can_become`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DraftStatus {
    Draft,
    Open,
    Closed,
    InReview,
    Revised,
    Adopted,
    Withdrawn,
}

impl DraftStatus {
    pub const ALL: [DraftStatus; 7] = [
        DraftStatus::Draft,
        DraftStatus::Open,
        DraftStatus::Closed,
        DraftStatus::InReview,
        DraftStatus::Revised,
        DraftStatus::Adopted,
        DraftStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftStatus::Draft => "draft",
            DraftStatus::Open => "open",
            DraftStatus::Closed => "closed",
            DraftStatus::InReview => "in_review",
            DraftStatus::Revised => "revised",
            DraftStatus::Adopted => "adopted",
            DraftStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Result<DraftStatus, FieldError> {
        DraftStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!(
                        "'{}' is not a status; use one of: {}",
                        s.trim(),
                        DraftStatus::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// The lifecycle: draft → open → closed → in_review → revised (→ open for a new round)
    /// … → adopted or withdrawn. Adopted and withdrawn are final.
    pub fn can_become(self, to: DraftStatus) -> bool {
        use DraftStatus::*;
        matches!(
            (self, to),
            (Draft, Open)
                | (Draft, Withdrawn)
                | (Open, Closed)
                | (Open, Withdrawn)
                | (Closed, InReview)
                | (Closed, Adopted)
                | (Closed, Withdrawn)
                | (InReview, Revised)
                | (InReview, Adopted)
                | (InReview, Withdrawn)
                | (Revised, Open)
                | (Revised, InReview)
                | (Revised, Adopted)
                | (Revised, Withdrawn)
        )
    }

    /// The statuses this one may move to, for messages and admin forms.
    pub fn next(self) -> Vec<DraftStatus> {
        DraftStatus::ALL
            .into_iter()
            .filter(|to| self.can_become(*to))
            .collect()
    }

    /// Whether the public may see a draft in this status.
    pub fn is_public(self) -> bool {
        self != DraftStatus::Draft
    }
}

impl fmt::Display for DraftStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn single_line(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, FieldError> {
    let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = value.chars().count();
    if len == 0 {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if len < min {
        return Err(FieldError::new(
            field,
            format!("must be at least {min} characters"),
        ));
    }
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters (it has {len})"),
        ));
    }
    Ok(value)
}

/// A draft's title: one line, 3 to 300 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftTitle(String);

impl DraftTitle {
    pub fn parse(raw: &str) -> Result<DraftTitle, FieldError> {
        single_line("title", raw, 3, 300).map(DraftTitle)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The developing authority (ministry, agency): one line, 2 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority(String);

impl Authority {
    pub fn parse(raw: &str) -> Result<Authority, FieldError> {
        single_line("authority", raw, 2, 200).map(Authority)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plain-text summary of the draft, up to 5,000 characters; paragraphs kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary(String);

impl Summary {
    pub fn parse(raw: &str) -> Result<Summary, FieldError> {
        let value = raw.trim().replace("\r\n", "\n");
        let len = value.chars().count();
        if len > 5000 {
            return Err(FieldError::new(
                "summary",
                format!("must be at most 5000 characters (it has {len})"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(FieldError::new(
                "summary",
                "must not contain control characters",
            ));
        }
        Ok(Summary(value))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_only_the_documented_steps() {
        use DraftStatus::*;
        assert!(Draft.can_become(Open));
        assert!(Revised.can_become(Open));
        assert!(!Draft.can_become(Closed));
        assert!(!Open.can_become(Draft));
        assert!(Adopted.next().is_empty());
        assert!(Withdrawn.next().is_empty());
        for s in DraftStatus::ALL {
            assert!(!s.can_become(s), "{s} must not become itself");
            assert_eq!(DraftStatus::parse(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn titles_are_single_trimmed_lines() {
        assert_eq!(
            DraftTitle::parse("  Cyber\n Shield  ").unwrap().as_str(),
            "Cyber Shield"
        );
        assert_eq!(DraftTitle::parse("   ").unwrap_err().field, "title");
        assert!(DraftTitle::parse(&"x".repeat(301)).is_err());
    }

    #[test]
    fn unknown_kind_names_the_choices() {
        let err = DraftKind::parse("manifesto").unwrap_err();
        assert_eq!(err.field, "kind");
        assert!(err.message.contains("concept"));
    }
}
