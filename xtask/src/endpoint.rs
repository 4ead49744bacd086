//! `cargo xtask endpoint-test`: README's "Adding an endpoint", performed as a user would, on a
//! copy of the workspace: one operation added to the spec, `cargo xtask codegen`, and then the
//! SDK, the CLI's `api` command and the sandbox must all serve it with no other edit, while
//! the contract test must fail until its new snapshots are reviewed.
//!
//! The copy lives under `target/endpoint-test/` with a target dir of its own, seeded from this
//! workspace's (a build of the copy must not overwrite this workspace's binaries).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the operation goes: under this path item of the spec.
const PATH_ITEM: &str = "  /v1.0/engagements/referrals/{id}:\n";

/// The operation a user adds: the deprecated whole-referral PUT the reference documents.
const OPERATION: &str = r##"    put:
      operationId: replaceReferral
      tags: [referrals]
      deprecated: true
      summary: Replace a referral (deprecated; use updateReferral)
      description: Replaces the whole referral; `If-Match` is required.
      parameters:
        - name: If-Match
          in: header
          required: true
          description: The `eTag` of the referral as it was read.
          schema:
            $ref: "#/components/schemas/ETag"
          example: '"2500ec5a-0000-0000-0000-5bf4967d0000"'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/Referral"
            example:
              status: Active
              substatus: Accepted
              customerProfile:
                name: Fabrikam Customer Inc
      responses:
        "200":
          description: The referral as replaced.
          headers:
            Request-ID:
              $ref: "#/components/headers/RequestId"
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Referral"
              examples:
                official:
                  $ref: "#/components/examples/OfficialReferral"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "404":
          $ref: "#/components/responses/NotFound"
"##;

/// The SDK side: the generated method through the client's whole policy, as README shows.
const SDK_EXAMPLE: &str = r##"//! Added by `cargo xtask endpoint-test`.
use partner_center::PartnerCenter;
use partner_center::models::{Etag, Referral, ReferralId};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = partner_center_sandbox::Sandbox::start().await?;
    let client = PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
    let id: ReferralId = "c5fbb3b6-be74-4795-9fb5-4324c73fed37".parse()?;
    let etag = Etag::from("\"2500ec5a-0000-0000-0000-5bf4967d0000\"");
    let body: Referral = serde_json::from_str(r#"{"status": "Active"}"#)?;
    let replaced = client
        .call(|api| async move {
            api.replace_referral(&id, &etag, None, None, None, None, None, &body).await
        })
        .await?;
    println!("{}", serde_json::to_string(&replaced)?);
    Ok(())
}
"##;

pub fn run(root: &Path) -> Result<(), String> {
    let base = root.join("target/endpoint-test");
    let work = base.join("work");
    let target = base.join("target");
    println!("copying the workspace to {}", work.display());
    copy_workspace(root, &work)?;
    seed_target(&root.join("target"), &target)?;

    println!("1. spec: adding replaceReferral (PUT /v1.0/engagements/referrals/{{id}})");
    let spec_path = work.join("spec/partner-center.openapi.yaml");
    let spec = read(&spec_path)?;
    let at = spec
        .find(PATH_ITEM)
        .ok_or_else(|| format!("no {} in the spec", PATH_ITEM.trim()))?
        + PATH_ITEM.len();
    write(
        &spec_path,
        &format!("{}{OPERATION}{}", &spec[..at], &spec[at..]),
    )?;

    println!("2. cargo xtask codegen");
    cargo(&work, &target, &["xtask", "codegen"])?;
    let changed = changed_files(root, &work)?;
    println!("   files changed: {}", changed.join(", "));
    let by_hand: Vec<&String> = changed
        .iter()
        .filter(|f| !f.starts_with("crates/partner-center-api/src/generated/"))
        .collect();
    if by_hand.len() != 1 || !by_hand[0].ends_with("partner-center.openapi.yaml") {
        return Err(format!("only the spec should change by hand: {by_hand:?}"));
    }

    println!("3. the CLI lists it, and calls it against the sandbox");
    cargo(&work, &target, &["build", "-q", "-p", "partner-center-cli"])?;
    let cli = target.join("debug/partner-center");
    let listing = run_ok(Command::new(&cli).args(["api", "--output", "ndjson"]))?;
    if !listing.contains(r#""id":"replaceReferral","method":"PUT""#) {
        return Err(format!(
            "`partner-center api` does not list replaceReferral:\n{listing}"
        ));
    }
    print!("{}", run_ok(Command::new(&cli).arg("api"))?);
    let body = base.join("body.json");
    write(
        &body,
        r#"{"status": "Active", "customerProfile": {"name": "Fabrikam"}}"#,
    )?;
    let answer = run_ok(
        Command::new(&cli)
            .args([
                "--sandbox",
                "api",
                "replaceReferral",
                "-p",
                "id=c5fbb3b6-be74-4795-9fb5-4324c73fed37",
                "-p",
                "If-Match=\"2500ec5a-0000-0000-0000-5bf4967d0000\"",
                "--body",
            ])
            .arg(&body),
    )?;
    let official = read(&root.join("spec/examples/get-referral-by-id.response.json"))?;
    same_json("the CLI's answer", &answer, &official)?;
    println!("{}", answer.trim());

    println!("4. the SDK calls the generated method through its policy");
    let example = work.join("crates/partner-center/examples/replace_referral.rs");
    fs::create_dir_all(example.parent().unwrap_or(&work)).map_err(|e| e.to_string())?;
    write(&example, SDK_EXAMPLE)?;
    let sdk = cargo_output(
        &work,
        &target,
        &[
            "run",
            "-q",
            "-p",
            "partner-center",
            "--example",
            "replace_referral",
        ],
    )?;
    same_json("the SDK's answer", &sdk, &official)?;

    println!("5. the contract test fails until replaceReferral's snapshots are reviewed");
    let contract = Command::new(cargo_bin())
        .args([
            "test",
            "-q",
            "-p",
            "partner-center-tests",
            "--test",
            "contract",
        ])
        .current_dir(&work)
        .env("CARGO_TARGET_DIR", &target)
        .env("CI", "true")
        .env("INSTA_UPDATE", "no")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let said = format!("{}{}", text(&contract.stdout), text(&contract.stderr));
    if contract.status.success() || !said.contains("replaceReferral") {
        return Err(format!(
            "the contract test should fail on replaceReferral's missing snapshots:\n{said}"
        ));
    }
    println!("endpoint test passed: one spec edit and `cargo xtask codegen`, nothing else");
    // Gigabytes; kept only when a step failed, to look at.
    fs::remove_dir_all(&base).map_err(|e| format!("cannot remove {}: {e}", base.display()))
}

/// The files git tracks (as a fresh clone has them), symbolic links kept as links.
fn copy_workspace(root: &Path, work: &Path) -> Result<(), String> {
    if work.exists() {
        fs::remove_dir_all(work).map_err(|e| format!("cannot clear {}: {e}", work.display()))?;
    }
    let listed = run_ok(
        Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(root),
    )?;
    for file in listed.split('\0').filter(|f| !f.is_empty()) {
        let (from, to) = (root.join(file), work.join(file));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let meta = fs::symlink_metadata(&from).map_err(|e| format!("{file}: {e}"))?;
        if meta.file_type().is_symlink() {
            let link = fs::read_link(&from).map_err(|e| e.to_string())?;
            std::os::unix::fs::symlink(link, &to).map_err(|e| format!("{file}: {e}"))?;
        } else if meta.is_file() {
            fs::copy(&from, &to).map_err(|e| format!("{file}: {e}"))?;
        }
    }
    Ok(())
}

/// Seeds the copy's target dir with this workspace's build, once: most of it is the same
/// dependencies, and building them again takes minutes. A copy, not hard links: cargo names a
/// workspace crate's files after its path relative to the workspace, so the copy's crates
/// have this workspace's file names, and building them must not write into this workspace's
/// files. When the disk is too full for the copy, the copy builds from scratch instead.
fn seed_target(from: &Path, to: &Path) -> Result<(), String> {
    if to.join("debug").exists() || !from.join("debug").exists() {
        return Ok(());
    }
    fs::create_dir_all(to.join("debug")).map_err(|e| e.to_string())?;
    for part in ["deps", "build", ".fingerprint"] {
        let copied = run_ok(
            Command::new("cp")
                .args(["-a", "--reflink=auto"])
                .arg(from.join("debug").join(part))
                .arg(to.join("debug")),
        );
        if let Err(e) = copied {
            println!(
                "not seeding the copy's build ({}): building from scratch",
                first_line(&e)
            );
            fs::remove_dir_all(to.join("debug")).map_err(|e| e.to_string())?;
            return Ok(());
        }
    }
    Ok(())
}

/// The tracked files of `root` that differ in `work`: what the steps changed.
fn changed_files(root: &Path, work: &Path) -> Result<Vec<String>, String> {
    let tracked = run_ok(
        Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(root),
    )?;
    let mut changed = Vec::new();
    for file in tracked.split('\0').filter(|f| !f.is_empty()) {
        if fs::read(root.join(file)).ok() != fs::read(work.join(file)).ok() {
            changed.push(file.to_owned());
        }
    }
    Ok(changed)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

fn cargo(work: &Path, target: &Path, args: &[&str]) -> Result<(), String> {
    cargo_output(work, target, args).map(|_| ())
}

fn cargo_output(work: &Path, target: &Path, args: &[&str]) -> Result<String, String> {
    run_ok(
        Command::new(cargo_bin())
            .args(args)
            .current_dir(work)
            .env("CARGO_TARGET_DIR", target)
            .stderr(Stdio::inherit()),
    )
}

/// Runs `command`; its stdout, or why it failed.
fn run_ok(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output: Output = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed ({}):\n{}{}",
            output.status,
            text(&output.stdout),
            text(&output.stderr)
        ));
    }
    Ok(text(&output.stdout))
}

fn same_json(what: &str, got: &str, expected: &str) -> Result<(), String> {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s.trim());
    match (parse(got), parse(expected)) {
        (Ok(got), Ok(expected)) if got == expected => Ok(()),
        _ => Err(format!("{what} is not the spec's example:\n{got}")),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
