//! The Python peers' private virtual environments under `~/.cache/outreach-desk`, created and
//! filled with pip on first use only.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The benchmarks' cache folder.
pub fn cache() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(Path::new(&home).join(".cache/outreach-desk"))
}

/// The virtual environment `name` in the cache folder, with `packages` installed into it
/// unless `ready` (given the environment's folder) already holds.
pub fn ensure(name: &str, packages: &[&str], ready: impl Fn(&Path) -> bool) -> Result<PathBuf> {
    let venv = cache()?.join(name);
    if ready(&venv) {
        return Ok(venv);
    }
    println!("installing {} into {}", packages.join(" "), venv.display());
    if !venv.join("bin/pip").exists()
        && !Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()?
            .success()
    {
        bail!(
            "could not create the virtual environment {}",
            venv.display()
        );
    }
    if !Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .args(packages)
        .status()?
        .success()
    {
        bail!("could not install {} with pip", packages.join(" "));
    }
    Ok(venv)
}

/// Whether the environment's Python imports `modules`.
pub fn imports(venv: &Path, modules: &str) -> bool {
    Command::new(venv.join("bin/python"))
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success())
}
