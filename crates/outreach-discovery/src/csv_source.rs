//! Reading prospects from CSV bytes: header detection, delimiter sniffing, per-row validation.

use csv::{ByteRecord, ReaderBuilder};
use outreach_core::mapping::{ColumnMapping, MappingError, SourceType, auto_map, validate_mapping};
use outreach_core::record::{FieldError, ProspectInput};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Files larger than this are refused before parsing: a prospect list of 100,000 rows with
/// long notes is well under it, and a mistaken multi-gigabyte pick should fail fast.
pub const MAX_FILE_BYTES: usize = 512 * 1024 * 1024;

/// Why a file cannot be imported at all. Row-level problems are [`RowError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// Nothing in the file.
    #[error("the file is empty")]
    Empty,
    /// Too big.
    #[error("the file is {0} bytes; files over 512 MiB are not imported")]
    TooLarge(usize),
    /// The header row is not text.
    #[error(
        "the header row (row {row}) is not valid UTF-8 text; save the file as 'CSV UTF-8' and import it again"
    )]
    HeaderEncoding {
        /// Spreadsheet row number of the header.
        row: u64,
    },
    /// The CSV structure is broken beyond one row.
    #[error("the file could not be read as CSV near row {row}: {message}")]
    Malformed {
        /// Spreadsheet row number.
        row: u64,
        /// What the parser said.
        message: String,
    },
    /// The mapping cannot be imported.
    #[error("{0}")]
    Mapping(#[from] MappingError),
    /// A mapped column index is outside the file.
    #[error("the mapping names column {index}, but the file has {count} columns")]
    ColumnOutOfRange {
        /// The column asked for.
        index: u32,
        /// Columns in the file.
        count: usize,
    },
}

/// A first look at a file: its headers, what they were taken to mean, a few rows.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CsvPreview {
    /// The kind of export recognised.
    pub source_type: SourceType,
    /// One entry per column, with the detected field.
    pub columns: Vec<ColumnMapping>,
    /// The first rows, as text (cells that are not UTF-8 are shown with replacement marks).
    pub sample: Vec<Vec<String>>,
    /// The delimiter found (`,`, `;` or tab).
    pub delimiter: String,
    /// Why the detected mapping could not be imported as is, if it cannot.
    pub mapping_problem: Option<String>,
}

/// Every problem of one row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RowError {
    /// The line of the file the row starts on: the row number a spreadsheet shows, unless an
    /// earlier cell spans several lines.
    #[ts(type = "number")]
    pub row: u64,
    /// The problems, one per cell.
    pub errors: Vec<FieldError>,
}

/// A valid row, normalised.
#[derive(Debug, Clone)]
pub struct ValidRow {
    /// Spreadsheet row number.
    pub row: u64,
    /// The candidate prospect.
    pub prospect: ProspectInput,
}

/// Everything read from a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    /// Rows that passed validation, in file order.
    pub valid: Vec<ValidRow>,
    /// Rows that did not.
    pub invalid: Vec<RowError>,
    /// Data rows seen (blank rows excluded).
    pub total_rows: u64,
}

/// Progress of a read, in bytes of the file.
#[derive(Debug, Clone, Copy)]
pub struct ReadProgress {
    /// Bytes parsed so far.
    pub bytes_read: u64,
    /// Size of the file.
    pub bytes_total: u64,
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Picks the delimiter that splits the first non-blank line into the most fields; European
/// spreadsheet programs write `;`, some tools tabs.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first_lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .take(8)
        .collect();
    let count = |line: &[u8], d: u8| {
        let mut quoted = false;
        line.iter()
            .filter(|b| {
                if **b == b'"' {
                    quoted = !quoted;
                }
                !quoted && **b == d
            })
            .count()
    };
    // Look at the widest of the first lines: a LinkedIn export opens with a one-cell preamble.
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| {
            (
                first_lines.iter().map(|l| count(l, *d)).max().unwrap_or(0),
                // Prefer the comma on ties.
                u8::from(*d == b','),
            )
        })
        .unwrap_or(b',')
}

struct Sheet<'a> {
    reader: csv::Reader<&'a [u8]>,
    headers: Vec<String>,
    delimiter: u8,
    len: u64,
}

fn open(bytes: &[u8]) -> Result<Sheet<'_>, CsvError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CsvError::TooLarge(bytes.len()));
    }
    let body = strip_bom(bytes);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(CsvError::Empty);
    }
    let delimiter = sniff_delimiter(body);
    let builder = || {
        let mut b = ReaderBuilder::new();
        b.has_headers(false).flexible(true).delimiter(delimiter);
        b
    };
    // Skip a preamble such as LinkedIn's "Notes:" paragraph: the header is the first of the
    // opening rows with at least two non-empty cells (or the first row, in a one-column file).
    let mut scan = builder().from_reader(body);
    let mut record = ByteRecord::new();
    let mut header_index = None;
    let mut seen = 0usize;
    while seen < 50 {
        let row = scan.position().line();
        match scan.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(CsvError::Malformed {
                    row,
                    message: e.to_string(),
                });
            }
        }
        if record.iter().filter(|c| !c.trim_ascii().is_empty()).count() >= 2 {
            header_index = Some(seen);
            break;
        }
        seen += 1;
    }
    let header_index = header_index.unwrap_or(0);
    let mut reader = builder().from_reader(body);
    for _ in 0..=header_index {
        let row = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(CsvError::Empty),
            Err(e) => {
                return Err(CsvError::Malformed {
                    row,
                    message: e.to_string(),
                });
            }
        }
    }
    let row = reader.position().line() - 1;
    let headers = record
        .iter()
        .map(|c| std::str::from_utf8(c).map(|s| s.trim().to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CsvError::HeaderEncoding { row })?;
    Ok(Sheet {
        reader,
        headers,
        delimiter,
        len: body.len() as u64,
    })
}

/// Reads the headers and the first `sample_rows` rows, and proposes a mapping.
pub fn preview(bytes: &[u8], sample_rows: usize) -> Result<CsvPreview, CsvError> {
    let mut sheet = open(bytes)?;
    let (source_type, columns) = auto_map(&sheet.headers);
    let mut sample = Vec::new();
    let mut record = ByteRecord::new();
    while sample.len() < sample_rows {
        match sheet.reader.read_byte_record(&mut record) {
            Ok(true) => {
                if record.iter().all(|c| c.trim_ascii().is_empty()) {
                    continue;
                }
                sample.push(
                    record
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).trim().to_string())
                        .collect(),
                );
            }
            Ok(false) => break,
            Err(e) => {
                return Err(CsvError::Malformed {
                    row: sheet.reader.position().line(),
                    message: e.to_string(),
                });
            }
        }
    }
    let mapping_problem = validate_mapping(&columns).err().map(|e| e.to_string());
    Ok(CsvPreview {
        source_type,
        columns,
        sample,
        delimiter: match sheet.delimiter {
            b'\t' => "tab".into(),
            d => char::from(d).to_string(),
        },
        mapping_problem,
    })
}

/// Reads every row through `columns`, validating and normalising each. Calls `progress` now and
/// then. Fails as a whole only when the file or the mapping is unusable.
pub fn read_rows(
    bytes: &[u8],
    columns: &[ColumnMapping],
    mut progress: impl FnMut(ReadProgress),
) -> Result<ReadOutcome, CsvError> {
    let mut sheet = open(bytes)?;
    validate_mapping(columns)?;
    if let Some(c) = columns
        .iter()
        .find(|c| c.field.is_some() && c.index as usize >= sheet.headers.len())
    {
        return Err(CsvError::ColumnOutOfRange {
            index: c.index,
            count: sheet.headers.len(),
        });
    }
    let mut out = ReadOutcome::default();
    let mut record = ByteRecord::new();
    let mut seen: u64 = 0;
    loop {
        let row = sheet.reader.position().line();
        match sheet.reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(CsvError::Malformed {
                    row,
                    message: e.to_string(),
                });
            }
        }
        seen += 1;
        if seen.is_multiple_of(2048) {
            progress(ReadProgress {
                bytes_read: sheet.reader.position().byte(),
                bytes_total: sheet.len,
            });
        }
        if record.iter().all(|c| c.trim_ascii().is_empty()) {
            continue;
        }
        out.total_rows += 1;
        let mut cells: Vec<&str> = Vec::with_capacity(record.len());
        let mut encoding_errors = Vec::new();
        for (i, cell) in record.iter().enumerate() {
            match std::str::from_utf8(cell) {
                Ok(s) => cells.push(s),
                Err(_) => {
                    cells.push("");
                    encoding_errors.push(FieldError {
                        column: sheet.headers.get(i).cloned().unwrap_or_default(),
                        value: String::from_utf8_lossy(cell).into_owned(),
                        message: "the cell is not valid UTF-8 text; save the file as 'CSV UTF-8' and import it again".into(),
                    });
                }
            }
        }
        if !encoding_errors.is_empty() {
            out.invalid.push(RowError {
                row,
                errors: encoding_errors,
            });
            continue;
        }
        match ProspectInput::from_row(columns, &cells) {
            Ok(prospect) => out.valid.push(ValidRow { row, prospect }),
            Err(errors) => out.invalid.push(RowError { row, errors }),
        }
    }
    progress(ReadProgress {
        bytes_read: sheet.len,
        bytes_total: sheet.len,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use outreach_core::mapping::Field;

    fn read(file: &[u8]) -> Result<ReadOutcome, CsvError> {
        let p = preview(file, 3)?;
        read_rows(file, &p.columns, |_| {})
    }

    #[test]
    fn bom_is_ignored() {
        let file = b"\xEF\xBB\xBFEmail,Name\nann@acme.example,Ann\n";
        let p = preview(file, 3).unwrap();
        assert_eq!(p.columns[0].header, "Email");
        assert_eq!(p.columns[0].field, Some(Field::Email));
        assert_eq!(read(file).unwrap().valid.len(), 1);
    }

    #[test]
    fn quoted_newlines_stay_in_their_cell_and_rows_count_as_a_spreadsheet_does() {
        let file = b"Email,Notes\n\"a@x.example\",\"line one\nline two\"\nbad,x\n";
        let out = read(file).unwrap();
        assert_eq!(out.valid.len(), 1);
        assert_eq!(
            out.valid[0].prospect.notes.as_deref(),
            Some("line one line two")
        );
        assert_eq!(out.invalid.len(), 1);
        assert_eq!(out.total_rows, 2);
    }

    #[test]
    fn invalid_utf8_cells_fail_their_row_only() {
        let file = b"Email,Company\na@x.example,Caf\xE9\nb@x.example,Cafe\n";
        let out = read(file).unwrap();
        assert_eq!(out.valid.len(), 1);
        assert_eq!(out.invalid[0].row, 2);
        assert!(out.invalid[0].errors[0].message.contains("UTF-8"));
        assert_eq!(out.invalid[0].errors[0].column, "Company");
    }

    #[test]
    fn invalid_utf8_header_is_a_file_error() {
        let err = preview(b"Em\xE9il,Name\na@x.example,A\n", 3).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn duplicate_headers_are_refused_before_reading() {
        let file = b"Email,Name,Email\na@x.example,A,b@x.example\n";
        let p = preview(file, 3).unwrap();
        assert!(p.mapping_problem.unwrap().contains("more than once"));
        let err = read_rows(file, &p.columns, |_| {}).unwrap_err();
        assert!(matches!(
            err,
            CsvError::Mapping(MappingError::DuplicateHeader(_))
        ));
    }

    #[test]
    fn missing_identity_column_is_refused() {
        let file = b"Name,Company\nAnn,Acme\n";
        let err = read(file).unwrap_err();
        assert!(
            err.to_string().contains("no column is mapped to email"),
            "{err}"
        );
    }

    #[test]
    fn linkedin_preamble_is_skipped() {
        let file = b"Notes:\n\"When exporting your connection data, some e-mail addresses may be missing.\"\n\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\nAnn,Lee,https://www.linkedin.com/in/ann-lee,,Acme,CEO,01 Jan 2024\n";
        let p = preview(file, 3).unwrap();
        assert_eq!(p.source_type, SourceType::LinkedinExport);
        let out = read_rows(file, &p.columns, |_| {}).unwrap();
        assert_eq!(out.valid.len(), 1);
        assert_eq!(
            out.valid[0].prospect.linkedin_url.as_deref(),
            Some("https://www.linkedin.com/in/ann-lee")
        );
        assert_eq!(out.valid[0].row, 5);
    }

    #[test]
    fn semicolons_and_tabs_are_sniffed() {
        let out = read(b"Name;Email;Company\nAnn;ann@x.example;Acme, Inc.\n").unwrap();
        assert_eq!(out.valid[0].prospect.company.as_deref(), Some("Acme, Inc."));
        let out = read(b"Name\tEmail\nAnn\tann@x.example\n").unwrap();
        assert_eq!(out.valid.len(), 1);
    }

    #[test]
    fn ten_percent_bad_rows_are_each_reported() {
        let mut file = String::from("email,name\n");
        for i in 0..100 {
            if i % 10 == 0 {
                file.push_str(&format!("broken-{i},Row {i}\n"));
            } else {
                file.push_str(&format!("p{i}@acme.example,Row {i}\n"));
            }
        }
        let out = read(file.as_bytes()).unwrap();
        assert_eq!(out.valid.len(), 90);
        assert_eq!(out.invalid.len(), 10);
        assert_eq!(out.invalid[0].row, 2);
        assert_eq!(out.invalid[1].row, 12);
    }

    #[test]
    fn empty_and_blank_files_are_refused() {
        assert!(matches!(preview(b"", 3), Err(CsvError::Empty)));
        assert!(matches!(
            preview(b"\xEF\xBB\xBF \n\n", 3),
            Err(CsvError::Empty)
        ));
    }

    #[test]
    fn mapping_beyond_the_file_is_refused() {
        let file = b"Email,Name\na@x.example,A\n";
        let mut p = preview(file, 3).unwrap();
        p.columns.push(ColumnMapping {
            index: 7,
            header: "Ghost".into(),
            field: Some(Field::Company),
        });
        assert!(matches!(
            read_rows(file, &p.columns, |_| {}),
            Err(CsvError::ColumnOutOfRange { .. })
        ));
    }
}
