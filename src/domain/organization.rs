//! Organizations that take part in a consultation through verified representatives: their
//! kind, name, registration number and website, and the state of a representation.

use crate::error::FieldError;

/// What sort of body an organization is. Labels come from Fluent (`org-kind-<as_str>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganizationKind {
    /// An NGO or association.
    Ngo,
    BusinessAssociation,
    University,
    PublicBody,
    TradeUnion,
}

impl OrganizationKind {
    pub const ALL: [OrganizationKind; 5] = [
        OrganizationKind::Ngo,
        OrganizationKind::BusinessAssociation,
        OrganizationKind::University,
        OrganizationKind::PublicBody,
        OrganizationKind::TradeUnion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Ngo => "ngo",
            OrganizationKind::BusinessAssociation => "business_association",
            OrganizationKind::University => "university",
            OrganizationKind::PublicBody => "public_body",
            OrganizationKind::TradeUnion => "trade_union",
        }
    }

    /// The Fluent key of the label.
    pub fn label_key(self) -> String {
        format!("org-kind-{}", self.as_str())
    }

    pub fn parse(s: &str) -> Result<OrganizationKind, FieldError> {
        OrganizationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("kind", "Choose what kind of organization it is"))
    }
}

/// Removes surrounding whitespace and refuses line breaks and other control characters;
/// runs of spaces inside become one.
fn one_line(field: &'static str, what: &str, raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("The {what} must be one line, without line breaks"),
        ));
    }
    Ok(trimmed.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn length(
    field: &'static str,
    what: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), FieldError> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(FieldError::new(
            field,
            format!("The {what} must be {min} to {max} characters long"),
        ));
    }
    Ok(())
}

/// An organization's name: one line, 2 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<OrgName, FieldError> {
        let value = one_line("name", "name", raw)?;
        if value.is_empty() {
            return Err(FieldError::new(
                "name",
                "Enter the name of the organization",
            ));
        }
        length("name", "name", &value, 2, 200)?;
        Ok(OrgName(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The number under which the organization is registered (BIN, charity number, …): 1 to 50
/// letters, digits, spaces, `-`, `/` and `.`, stored trimmed and upper-cased so that one
/// organization is found whatever way its number was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationNumber(String);

impl RegistrationNumber {
    pub fn parse(raw: &str) -> Result<RegistrationNumber, FieldError> {
        const FIELD: &str = "registration_number";
        let value = one_line(FIELD, "registration number", raw)?.to_uppercase();
        if value.is_empty() {
            return Err(FieldError::new(
                FIELD,
                "Enter the organization's registration number",
            ));
        }
        length(FIELD, "registration number", &value, 1, 50)?;
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '/' | '.');
        if !value.chars().all(allowed) || !value.chars().any(char::is_alphanumeric) {
            return Err(FieldError::new(
                FIELD,
                "The registration number may only contain letters, digits, spaces and the signs - / .",
            ));
        }
        Ok(RegistrationNumber(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's website: an `http` or `https` URL with a host, without user name or
/// password. A bare `example.org` is taken as `https://example.org/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Website(url::Url);

pub const WEBSITE_MAX: usize = 300;

impl Website {
    /// An empty field means "no website".
    pub fn parse_optional(raw: &str) -> Result<Option<Website>, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        Website::parse(raw).map(Some)
    }

    pub fn parse(raw: &str) -> Result<Website, FieldError> {
        const FIELD: &str = "website";
        let raw = raw.trim();
        let invalid = || {
            FieldError::new(
                FIELD,
                "Enter the website as an address like https://example.org",
            )
        };
        if raw.chars().count() > WEBSITE_MAX {
            return Err(FieldError::new(
                FIELD,
                format!("The website address must be at most {WEBSITE_MAX} characters long"),
            ));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let parsed = match url::Url::parse(raw) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                url::Url::parse(&format!("https://{raw}")).map_err(|_| invalid())?
            }
            Err(_) => return Err(invalid()),
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid());
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(FieldError::new(
                FIELD,
                "The website address must not contain a user name or password",
            ));
        }
        if parsed.as_str().len() > WEBSITE_MAX {
            return Err(invalid());
        }
        Ok(Website(parsed))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The position a representative holds in the organization ("Chair of the board"): one
/// line, 2 to 120 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position(String);

impl Position {
    pub fn parse(raw: &str) -> Result<Position, FieldError> {
        let value = one_line("position", "position", raw)?;
        if value.is_empty() {
            return Err(FieldError::new(
                "position",
                "Enter your position in the organization",
            ));
        }
        length("position", "position", &value, 2, 120)?;
        Ok(Position(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an administrator decided as they did: 3 to 500 characters, line breaks allowed.
/// Sent to the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionReason(String);

impl DecisionReason {
    pub fn parse(field: &'static str, raw: &str) -> Result<DecisionReason, FieldError> {
        let value = raw.trim().replace("\r\n", "\n");
        if value.is_empty() {
            return Err(FieldError::new(
                field,
                "Give the reason: it is sent to the person who asked",
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(FieldError::new(
                field,
                "The reason must not contain control characters",
            ));
        }
        length(field, "reason", &value, 3, 500)?;
        Ok(DecisionReason(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The state of one person's request to represent one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepresentationStatus {
    /// Waiting for an administrator.
    Pending,
    /// The person may act for the organization.
    Verified,
    /// Refused; the person may ask again.
    Declined,
    /// Was verified, and no longer is.
    Revoked,
}

impl RepresentationStatus {
    pub const ALL: [RepresentationStatus; 4] = [
        RepresentationStatus::Pending,
        RepresentationStatus::Verified,
        RepresentationStatus::Declined,
        RepresentationStatus::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RepresentationStatus::Pending => "pending",
            RepresentationStatus::Verified => "verified",
            RepresentationStatus::Declined => "declined",
            RepresentationStatus::Revoked => "revoked",
        }
    }

    /// The Fluent key of the label.
    pub fn label_key(self) -> String {
        format!("org-status-{}", self.as_str())
    }

    pub fn parse(s: &str) -> Result<RepresentationStatus, FieldError> {
        RepresentationStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("status", format!("'{}' is not a status", s.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in OrganizationKind::ALL {
            assert_eq!(OrganizationKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(OrganizationKind::parse("company").is_err());
        for s in RepresentationStatus::ALL {
            assert_eq!(RepresentationStatus::parse(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn names_are_one_line() {
        assert_eq!(
            OrgName::parse("  Kazakh   IT  Association ")
                .unwrap()
                .as_str(),
            "Kazakh IT Association"
        );
        assert!(OrgName::parse("A").is_err());
        assert!(OrgName::parse("").is_err());
        assert!(OrgName::parse("Two\nlines").is_err());
        assert!(OrgName::parse(&"x".repeat(201)).is_err());
        assert!(OrgName::parse(&"ж".repeat(200)).is_ok());
    }

    #[test]
    fn registration_numbers_are_normalised() {
        assert_eq!(
            RegistrationNumber::parse("  123-ab/45.x ")
                .unwrap()
                .as_str(),
            "123-AB/45.X"
        );
        assert_eq!(
            RegistrationNumber::parse("бин 0405").unwrap().as_str(),
            "БИН 0405"
        );
        for bad in ["", "   ", "12;drop", "a_b", "<1>", "---", &"1".repeat(51)] {
            assert!(RegistrationNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn websites_must_be_http_urls_with_a_host() {
        assert_eq!(
            Website::parse("https://Example.org/about")
                .unwrap()
                .as_str(),
            "https://example.org/about"
        );
        assert_eq!(
            Website::parse("example.org").unwrap().as_str(),
            "https://example.org/"
        );
        assert_eq!(Website::parse_optional("  ").unwrap(), None);
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://example.org",
            "http://",
            "https://user:pw@example.org",
            "mailto:a@example.org",
            "https://exa mple.org",
            "vbscript:msgbox",
        ] {
            assert!(Website::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn positions_and_reasons_have_bounds() {
        assert!(Position::parse("Chair of the board").is_ok());
        assert!(Position::parse("x").is_err());
        assert!(Position::parse(&"x".repeat(121)).is_err());
        assert!(DecisionReason::parse("reason", "  ").is_err());
        assert!(DecisionReason::parse("reason", "no").is_err());
        assert!(DecisionReason::parse("reason", "No proof of the role.\nSend a letter.").is_ok());
        assert!(DecisionReason::parse("reason", &"x".repeat(501)).is_err());
    }
}
