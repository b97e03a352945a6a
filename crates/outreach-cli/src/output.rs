//! Printing results for people (aligned tables) and scripts (JSON).

use std::io::{IsTerminal, Write};

use outreach_api::ApiError;

/// Prints an error: `error [code]: message`, or the `{code, message}` object with `--json`.
pub fn error(e: &anyhow::Error, json: bool) {
    let api = e.downcast_ref::<ApiError>();
    if json {
        let value = match api {
            Some(a) => serde_json::json!({ "code": a.code, "message": a.message }),
            None => serde_json::json!({ "code": "internal", "message": format!("{e:#}") }),
        };
        eprintln!("{value}");
    } else {
        match api {
            Some(a) => {
                let code = serde_json::to_value(a.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                eprintln!("error [{code}]: {}", a.message);
            }
            None => eprintln!("error [internal]: {e:#}"),
        }
    }
}

/// Prints any serialisable value as pretty JSON.
pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints rows as a table with aligned columns (cells cut at 40 characters).
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let cut = |s: &str| -> String {
        let one_line = s.replace(['\n', '\r', '\t'], " ");
        if one_line.chars().count() > 40 {
            format!("{}…", one_line.chars().take(39).collect::<String>())
        } else {
            one_line
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line(headers.to_vec()));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
}

/// A one-line progress display on standard error, only when it is a terminal.
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Progress that shows only on a terminal.
    pub fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Shows `label: NN%`.
    pub fn show(&self, label: &str, done: u64, total: u64) {
        if self.enabled && total > 0 {
            eprint!("\r{label}: {:>3}%", done * 100 / total);
        }
    }

    /// Ends the progress line.
    pub fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Prints a connection test (`ok: …` or `failed at STAGE: …`, or the JSON object) and fails
/// the command when the test failed, so that scripts can branch on the exit status.
pub fn connection_test(t: &outreach_api::AccountTest, json: bool) -> anyhow::Result<()> {
    if json {
        self::json(t)?;
    } else if t.ok {
        println!("ok: {}", t.message);
    } else {
        println!(
            "failed at {}: {}",
            t.stage.clone().unwrap_or_default(),
            t.message
        );
    }
    if !t.ok {
        anyhow::bail!(ApiError::invalid(t.message.clone()));
    }
    Ok(())
}
