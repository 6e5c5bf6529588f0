//! Account input parsed once: an [`Email`] is normalised and plausible, a [`Password`] meets
//! the policy, a [`DisplayName`] is one printable line.

use crate::error::FieldError;

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        Self::parse_as("email", raw)
    }

    pub fn parse_as(field: &'static str, raw: &str) -> Result<Email, FieldError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(FieldError::new(field, "Enter your email address"));
        }
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if !valid {
            return Err(FieldError::new(
                field,
                "Enter an email address like name@example.org",
            ));
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown beside a person's comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, FieldError> {
        let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = value.chars().count();
        if len == 0 {
            return Err(FieldError::new(
                "display_name",
                "Enter the name to show with your comments",
            ));
        }
        if !(2..=80).contains(&len) {
            return Err(FieldError::new(
                "display_name",
                "The name must be 2 to 80 characters long",
            ));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                "display_name",
                "The name must not contain control characters",
            ));
        }
        Ok(DisplayName(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy: 8 to 128 characters, and not easy to guess (not on
/// the common-password lists zxcvbn ships, not built from the person's name or email).
/// Never logged: Debug is redacted.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

impl Password {
    pub fn parse(
        field: &'static str,
        raw: &str,
        user_inputs: &[&str],
    ) -> Result<Password, FieldError> {
        let len = raw.chars().count();
        if len < PASSWORD_MIN {
            return Err(FieldError::new(
                field,
                format!("The password must be at least {PASSWORD_MIN} characters long"),
            ));
        }
        if len > PASSWORD_MAX {
            return Err(FieldError::new(
                field,
                format!("The password must be at most {PASSWORD_MAX} characters long"),
            ));
        }
        let entropy = zxcvbn::zxcvbn(raw, user_inputs);
        if (entropy.score() as u8) < 2 {
            return Err(FieldError::new(
                field,
                "This password is too common or too easy to guess. Try a few unrelated words",
            ));
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Who is speaking: shown with each comment and counted in the discussion report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RespondentType {
    Citizen,
    Expert,
    Business,
    Ngo,
    Academia,
    PublicAuthority,
}

impl RespondentType {
    pub const ALL: [RespondentType; 6] = [
        RespondentType::Citizen,
        RespondentType::Expert,
        RespondentType::Business,
        RespondentType::Ngo,
        RespondentType::Academia,
        RespondentType::PublicAuthority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RespondentType::Citizen => "citizen",
            RespondentType::Expert => "expert",
            RespondentType::Business => "business",
            RespondentType::Ngo => "ngo",
            RespondentType::Academia => "academia",
            RespondentType::PublicAuthority => "public_authority",
        }
    }

    pub fn parse(s: &str) -> Result<RespondentType, FieldError> {
        RespondentType::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("respondent_type", "Choose who you are responding as"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Alice@Example.ORG ").unwrap().as_str(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "a@b",
            "a b@c.org",
            "@c.org",
            "a@.org",
            "a@c..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn common_and_short_passwords_are_refused() {
        for bad in [
            "password",
            "12345678",
            "qwerty123",
            "iloveyou1",
            "Password1",
        ] {
            assert!(Password::parse("password", bad, &[]).is_err(), "{bad}");
        }
        assert!(Password::parse("password", "alice.smith@x.org", &["alice.smith@x.org"]).is_err());
        assert!(Password::parse("password", "short", &[]).is_err());
        assert!(Password::parse("password", &"x".repeat(129), &[]).is_err());
        // Long passwords, pasted or generated, are welcome.
        assert!(Password::parse("password", "correct horse battery staple", &[]).is_ok());
        assert!(Password::parse("password", &"Zq8!mK2#pL9$".repeat(5), &[]).is_ok());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("password", "correct horse battery staple", &[]).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
