//! Prospect sources for Outreach Desk.
//!
//! Today: CSV files, as exported by LinkedIn ("Connections.csv"), Sales Navigator style lead
//! tools and spreadsheets. The reader works on bytes already in memory and does no I/O, so the
//! same code runs in the app, the CLI and the fuzzer.
//!
//! ```
//! use outreach_discovery::csv_source::{preview, read_rows};
//! let file = b"Name,Email\nAda Lovelace,ada@engines.example\nBad,nope\n";
//! let p = preview(file, 5).unwrap();
//! let outcome = read_rows(file, &p.columns, |_| {}).unwrap();
//! assert_eq!(outcome.valid.len(), 1);
//! assert_eq!(outcome.invalid[0].row, 3);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod csv_source;
