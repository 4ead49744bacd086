//! What commands read from files (or stdin).

use std::path::Path;

use serde_json::Value;

use crate::failure::Failure;

/// The JSON in `file` (stdin for `-`): its text, and the value it holds.
pub(crate) fn json_file(file: &Path) -> Result<(String, Value), Failure> {
    let path = || file.to_owned();
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|source| Failure::Read {
        path: path(),
        source,
    })?;
    let json = serde_json::from_str(&text).map_err(|source| Failure::NotJson {
        path: path(),
        source,
    })?;
    Ok((text, json))
}
