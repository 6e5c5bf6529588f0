//! What a subscription follows and how often it is delivered.

use crate::error::FieldError;

/// What a subscription follows. Its `target` (a text column) depends on the kind: nothing
/// for `all_drafts` and the personal kinds, an authority's name, a kind of act, a draft id,
/// `draft_id:provision_key`, or (working groups) the draft id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubscriptionKind {
    AllDrafts,
    Authority,
    Kind,
    Draft,
    Provision,
    MyReplies,
    MyDispositions,
    WgQueue,
    WgCampaigns,
}

impl SubscriptionKind {
    pub const ALL: [SubscriptionKind; 9] = [
        SubscriptionKind::AllDrafts,
        SubscriptionKind::Authority,
        SubscriptionKind::Kind,
        SubscriptionKind::Draft,
        SubscriptionKind::Provision,
        SubscriptionKind::MyReplies,
        SubscriptionKind::MyDispositions,
        SubscriptionKind::WgQueue,
        SubscriptionKind::WgCampaigns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::AllDrafts => "all_drafts",
            SubscriptionKind::Authority => "authority",
            SubscriptionKind::Kind => "kind",
            SubscriptionKind::Draft => "draft",
            SubscriptionKind::Provision => "provision",
            SubscriptionKind::MyReplies => "my_replies",
            SubscriptionKind::MyDispositions => "my_dispositions",
            SubscriptionKind::WgQueue => "wg_queue",
            SubscriptionKind::WgCampaigns => "wg_campaigns",
        }
    }

    pub fn parse(s: &str) -> Result<SubscriptionKind, FieldError> {
        SubscriptionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("kind", "Choose what to follow"))
    }

    /// Kinds only an account holder can have: they follow the account's own comments or its
    /// working groups.
    pub fn needs_account(self) -> bool {
        matches!(
            self,
            SubscriptionKind::MyReplies
                | SubscriptionKind::MyDispositions
                | SubscriptionKind::WgQueue
                | SubscriptionKind::WgCampaigns
        )
    }
}

/// How often a subscription is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frequency {
    Immediate,
    Daily,
    Weekly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::Immediate, Frequency::Daily, Frequency::Weekly];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Immediate => "immediate",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Result<Frequency, FieldError> {
        Frequency::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "frequency",
                    "Choose how often: immediately, daily or weekly",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_frequencies_round_trip() {
        for k in SubscriptionKind::ALL {
            assert_eq!(SubscriptionKind::parse(k.as_str()).unwrap(), k);
        }
        for f in Frequency::ALL {
            assert_eq!(Frequency::parse(f.as_str()).unwrap(), f);
        }
        assert!(SubscriptionKind::parse("everything").is_err());
        assert!(Frequency::parse("hourly").is_err());
    }
}
