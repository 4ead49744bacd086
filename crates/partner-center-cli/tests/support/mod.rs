//! What the binary's end-to-end tests share.

// Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

use std::process::Output;

/// The official example response of "Get a lead or co-sell opportunity by ID", byte for byte.
pub const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;
/// The id of the official example.
pub const OFFICIAL_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";

/// What the command printed on stdout.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// What the command printed on stderr.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
