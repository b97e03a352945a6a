//! Domain types and pure rules of Outreach Desk.
//!
//! Nothing in this crate does I/O: it turns raw values into normalised ones, decides which CSV
//! column means what, validates candidate prospects and scores them. Every other crate builds on
//! these rules, so they are tested here once.
//!
//! ```
//! use outreach_core::normalize::normalize_email;
//! let email = normalize_email("  Bob@Example.COM ").unwrap();
//! assert_eq!(email.address, "bob@example.com");
//! assert_eq!(email.domain, "example.com");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod campaign;
pub mod compliance;
pub mod inbox;
pub mod mapping;
pub mod normalize;
pub mod prospect;
pub mod record;
pub mod reply;
pub mod schedule;
pub mod scoring;
pub mod search;
pub mod template;
pub mod tokens;

pub use mapping::{ColumnMapping, Field, SourceType};
pub use prospect::{LawfulBasis, ProspectStatus};
pub use record::{FieldError, ProspectInput};
