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

/// A pretty JSON array written out one element at a time, so that a long list never has to be
/// held in memory whole. The text is the same as [`json`] prints for the whole list.
pub struct JsonArray<W: Write> {
    out: W,
    empty: bool,
}

impl JsonArray<std::io::BufWriter<std::io::Stdout>> {
    /// An array on standard output.
    pub fn stdout() -> Self {
        Self::new(std::io::BufWriter::new(std::io::stdout()))
    }
}

impl<W: Write> JsonArray<W> {
    /// An array written to `out`.
    pub fn new(out: W) -> Self {
        Self { out, empty: true }
    }

    /// Writes the next element.
    pub fn push<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.out
            .write_all(if self.empty { b"[\n" } else { b",\n" })?;
        self.empty = false;
        // Nested one level deeper, as in a whole array. JSON strings escape their line breaks,
        // so every line break here is the printer's.
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"  ")?;
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Closes the array and flushes; returns the writer.
    pub fn finish(mut self) -> anyhow::Result<W> {
        self.out
            .write_all(if self.empty { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
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
struct Progress {
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

/// Runs `work` while the terminal shows the progress that `pick` reads from the API's events
/// (a label, units done, units in all).
pub async fn showing_progress<T>(
    api: &outreach_api::Api,
    pick: impl Fn(outreach_api::ApiEvent) -> Option<(String, u64, u64)> + Send + 'static,
    work: impl std::future::Future<Output = T>,
) -> T {
    let progress = Progress::new();
    let mut events = api.subscribe();
    let watcher = tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            if let Some((label, done, total)) = pick(e) {
                progress.show(&label, done, total);
            }
        }
    });
    let out = work.await;
    watcher.abort();
    Progress::new().finish();
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn whole<T: serde::Serialize>(items: &[T]) -> String {
        let mut text = serde_json::to_string_pretty(items).unwrap();
        text.push('\n');
        text
    }

    fn streamed<T: serde::Serialize>(items: &[T]) -> String {
        let mut array = JsonArray::new(Vec::new());
        for item in items {
            array.push(item).unwrap();
        }
        String::from_utf8(array.finish().unwrap()).unwrap()
    }

    #[test]
    fn a_streamed_array_reads_exactly_as_the_whole_array() {
        let items = vec![
            serde_json::json!({ "id": 1, "name": "Ada", "notes": "line one\nline two", "tags": ["a", "b"] }),
            serde_json::json!({ "id": 2, "name": null, "custom": { "niche": "fitness" }, "tags": [] }),
            serde_json::json!({ "id": 3, "name": "Zoë \"quoted\"", "score": 71.5 }),
        ];
        assert_eq!(streamed(&items), whole(&items));
        assert_eq!(streamed(&items[..1]), whole(&items[..1]));
        let none: Vec<serde_json::Value> = Vec::new();
        assert_eq!(streamed(&none), whole(&none));
        assert_eq!(streamed(&none), "[]\n");
    }
}
