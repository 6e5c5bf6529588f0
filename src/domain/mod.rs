//! Domain words as types that parse their input once: a value of one of these types is
//! known to be valid.

pub mod draft;
pub mod time;

pub use draft::{Authority, DraftKind, DraftStatus, DraftTitle, Summary};
