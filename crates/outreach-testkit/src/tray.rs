//! The tray menu of a running program, clicked the way a desktop panel clicks it: over the
//! session bus, through the `com.canonical.dbusmenu` object its status notifier item exports
//! (libayatana-appindicator does so whether or not a panel shows the icon). Talks to the bus
//! with `gdbus`, from GLib's tools.

use std::path::{Path, PathBuf};
use std::process::Command;

const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

/// One program's tray menu on the session bus.
#[derive(Debug, Clone)]
pub struct TrayMenu {
    /// The program's unique bus name.
    dest: String,
    /// Where its menu object lives.
    path: String,
    /// The program's process id.
    pid: u32,
}

impl TrayMenu {
    /// The tray menu of the running program whose executable is `exe`, when it has exported
    /// one yet.
    pub fn of_program(exe: &Path) -> Result<Option<Self>, String> {
        let want = exe
            .canonicalize()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        for dest in bus_names()? {
            let Some(pid) = pid_of(&dest) else { continue };
            let runs = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            if runs.as_deref() != Some(want.as_path()) {
                continue;
            }
            // A program may hold several connections, and one that serves no objects may
            // never answer (seen: the notification library's): that one holds no menu.
            if let Ok(Some(path)) = menu_path(&dest) {
                return Ok(Some(Self { dest, path, pid }));
            }
        }
        Ok(None)
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The menu's item labels, in order, with their ids.
    pub fn items(&self) -> Result<Vec<(i32, String)>, String> {
        let layout = self.call("GetLayout", &["0", "-1", "['label']"])?;
        Ok(parse_items(&layout))
    }

    /// Clicks the item labelled `label`.
    pub fn click(&self, label: &str) -> Result<(), String> {
        let items = self.items()?;
        let (id, _) = items
            .iter()
            .find(|(_, l)| l == label)
            .ok_or_else(|| format!("no tray menu item '{label}' in {items:?}"))?;
        self.call("Event", &[&id.to_string(), "clicked", "<int32 0>", "0"])
            .map(drop)
    }

    /// Calls `method` of the menu interface with `args` (GVariant text).
    fn call(&self, method: &str, args: &[&str]) -> Result<String, String> {
        call(
            &self.dest,
            &self.path,
            &format!("{MENU_INTERFACE}.{method}"),
            args,
        )
    }
}

/// Whether process `pid` has ended (gone, or a zombie its parent has not reaped yet).
pub fn process_ended(pid: u32) -> bool {
    match std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/stat"))) {
        // The state follows the command name in parentheses, which may itself hold any byte.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// Runs gdbus for at most five seconds: `introspect` has no time limit of its own, and a
/// connection that serves no objects may never answer.
fn gdbus(args: &[&str]) -> Result<String, String> {
    let out = Command::new("timeout")
        .arg("5")
        .arg("gdbus")
        .args(args)
        .output()
        .map_err(|e| format!("gdbus (Debian package libglib2.0-bin): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "gdbus {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Calls `method` (with its interface) of the object at `path` that `dest` serves, with
/// `args` as GVariant text.
fn call(dest: &str, path: &str, method: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec![
        "call",
        "--session",
        "--dest",
        dest,
        "--object-path",
        path,
        "--method",
        method,
        "--",
    ];
    all.extend_from_slice(args);
    gdbus(&all)
}

/// Calls `method` of the bus itself.
fn bus_call(method: &str, args: &[&str]) -> Result<String, String> {
    call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        method,
        args,
    )
}

/// The unique names (`:1.42`) on the session bus.
fn bus_names() -> Result<Vec<String>, String> {
    let names = bus_call("org.freedesktop.DBus.ListNames", &[])?;
    Ok(names
        .split('\'')
        .filter(|n| n.starts_with(':'))
        .map(str::to_string)
        .collect())
}

fn pid_of(dest: &str) -> Option<u32> {
    let out = bus_call("org.freedesktop.DBus.GetConnectionUnixProcessID", &[dest]).ok()?;
    // "(uint32 1234,)"
    out.split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// The path of the object under which `dest` serves the menu interface.
fn menu_path(dest: &str) -> Result<Option<String>, String> {
    let tree = gdbus(&[
        "introspect",
        "--session",
        "--dest",
        dest,
        "--object-path",
        "/",
        "--recurse",
    ])?;
    let mut node = None;
    for line in tree.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("node ") {
            node = rest.split_whitespace().next().map(str::to_string);
        } else if line.starts_with(&format!("interface {MENU_INTERFACE} ")) {
            return Ok(node);
        }
    }
    Ok(None)
}

/// `(id, label)` of each item in a `GetLayout` answer as gdbus prints it, such as
/// `(uint32 2, (0, {'label': <'Label Empty'>}, [<(2, {'label': <'Open'>}, @av [])>, …]))`.
fn parse_items(layout: &str) -> Vec<(i32, String)> {
    const LABEL: &str = ", {'label': <'";
    let mut items = Vec::new();
    let mut rest = layout;
    while let Some(at) = rest.find(LABEL) {
        let before = &rest[..at];
        let id = before
            .rfind('(')
            .and_then(|open| before[open + 1..].trim().parse::<i32>().ok());
        let after = &rest[at + LABEL.len()..];
        let label = after.split("'>").next().unwrap_or_default();
        if let Some(id) = id
            && id != 0
        {
            items.push((id, label.to_string()));
        }
        rest = after;
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_items_of_a_layout_without_the_root() {
        let layout = "(uint32 2, (0, {'label': <'Label Empty'>}, [<(2, {'label': <'Open Outreach Desk'>}, @av [])>, <(3, {'label': <'Quit'>}, @av [])>]))";
        assert_eq!(
            parse_items(layout),
            vec![(2, "Open Outreach Desk".into()), (3, "Quit".into())]
        );
        assert!(parse_items("(uint32 1, (0, {}, @av []))").is_empty());
    }

    #[test]
    fn a_process_that_never_was_has_ended_and_this_one_has_not() {
        assert!(!process_ended(std::process::id()));
        assert!(process_ended(u32::MAX));
    }
}
