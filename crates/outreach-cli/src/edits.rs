//! What the `edit` commands share: naming the settings a change touches, refusing an edit
//! that changes nothing, and saying what changed.

use anyhow::Result;
use outreach_api::ApiError;

use crate::output;

/// The names of the settings that differ, from `(differs, name)` pairs in the order a
/// person reads them.
pub fn named<const N: usize>(pairs: [(bool, &'static str); N]) -> Vec<&'static str> {
    pairs
        .into_iter()
        .filter_map(|(differs, what)| differs.then_some(what))
        .collect()
}

/// The refusal of `outreach KIND edit` that would change nothing in `name`.
pub fn nothing_to_change(kind: &str, name: &str) -> anyhow::Error {
    ApiError::invalid(format!(
        "nothing to change in '{name}': give what changes (see `outreach {kind} edit --help`)"
    ))
    .into()
}

/// Prints the saved `value` as JSON, or `changed KIND 'NAME' (#ID): what, changed`.
pub fn report<T: serde::Serialize>(
    json: bool,
    kind: &str,
    (name, id): (&str, i64),
    changed: &[&str],
    value: &T,
) -> Result<()> {
    if json {
        output::json(value)
    } else {
        println!("changed {kind} '{name}' (#{id}): {}", changed.join(", "));
        Ok(())
    }
}
