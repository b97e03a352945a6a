//! The CSV import path on arbitrary bytes: preview, the detected mapping, every field mapped
//! to every column in turn, and row reading must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_core::mapping::{ColumnMapping, Field};
use outreach_discovery::csv_source::{preview, read_rows};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = preview(data, 3) else { return };
    let _ = read_rows(data, &p.columns, |_| {});
    // Give each column a field chosen by its position, so every normaliser sees fuzzed text.
    let columns: Vec<ColumnMapping> = p
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnMapping {
            index: c.index,
            header: c.header.clone(),
            field: Some(Field::ALL[(i + usize::from(data.first().copied().unwrap_or(0))) % Field::ALL.len()]),
        })
        .collect();
    if let Ok(out) = read_rows(data, &columns, |_| {}) {
        assert_eq!(out.valid.len() + out.invalid.len(), out.total_rows as usize);
    }
});
