//! Domain words as types that parse their input once: a value of one of these types is
//! known to be valid.

pub mod comment;
pub mod draft;
pub mod organization;
pub mod subscription;
pub mod time;
pub mod user;

pub use comment::{CommentBody, Stance};
pub use draft::{Authority, DraftKind, DraftStatus, DraftTitle, Summary};
pub use subscription::{Frequency, SubscriptionKind};
pub use user::{DisplayName, Email, Password, RespondentType};
