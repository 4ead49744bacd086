//! `cargo xtask codegen`: each document of `spec/` -> progenitor -> prettyplease -> a module
//! of the api crate's `src/generated/` (and their `mod.rs`, which lists the documents).
//!
//! Besides progenitor's client, each generated module declares the spec's string enumerations
//! through the api crate's `open_enum!` macro, so an enum added to the spec needs no
//! hand-written code and no copy of its values.

use std::fmt::Write as _;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, StringType, Type};
use proc_macro2::TokenStream;
use progenitor::{
    GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl, TypePatch,
};
use quote::quote;
use similar::TextDiff;

use crate::{boxed, lenient, operations};

/// The api crate's folder of the spec documents, which the top-level `spec/` links to: the api
/// crate carries them, so that they are published with it (`partner_center_api::spec`).
pub const SPEC_DIR: &str = "crates/partner-center-api/spec";
/// Where the generated modules go, one a document, beside their `mod.rs`.
pub const OUTPUT_DIR: &str = "crates/partner-center-api/src/generated";
/// What names a spec document in `spec/`.
const DOCUMENT_SUFFIX: &str = ".openapi.yaml";
/// The document whose client is also at the api crate's root (`partner_center_api::Client`).
const MAIN_DOCUMENT: &str = "partner-center";

/// How many diff lines `--check` prints before summarising the rest.
const DIFF_LINES_SHOWN: usize = 80;

/// One spec document of `spec/`, and the module generated from it.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file name without `.openapi.yaml` (`partner-center`).
    pub name: String,
    /// The module: the name in snake case (`partner_center`).
    pub module: String,
}

impl Document {
    fn new(name: &str) -> Result<Self, String> {
        let module = name.replace('-', "_");
        let usable = module
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && module
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !usable {
            return Err(format!(
                "spec/{name}{DOCUMENT_SUFFIX}: name documents in lower case, digits and dashes \
                 (their modules are named after them)"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            module,
        })
    }

    /// The path of the document's module, as generated code names its enums.
    fn path(&self) -> String {
        format!("crate::generated::{}", self.module)
    }
}

/// The spec documents in `dir`, by name, the main one first.
pub fn documents(dir: &Path) -> Result<Vec<Document>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(DOCUMENT_SUFFIX) {
            names.push(name.to_owned());
        }
    }
    names.sort_by_key(|name| (name != MAIN_DOCUMENT, name.clone()));
    if names.first().map(String::as_str) != Some(MAIN_DOCUMENT) {
        return Err(format!(
            "{}: no {MAIN_DOCUMENT}{DOCUMENT_SUFFIX}",
            dir.display()
        ));
    }
    names.iter().map(|name| Document::new(name)).collect()
}

/// Generates (or with `check`, compares) the module of every document of `spec_dir`, and
/// their `mod.rs`, in `out_dir`.
pub fn run(spec_dir: &Path, out_dir: &Path, check: bool) -> Result<(), String> {
    let documents = documents(spec_dir)?;
    let mut files = vec![(out_dir.join("mod.rs"), generate_mod(&documents)?)];
    for document in &documents {
        let spec = load_spec(&spec_dir.join(format!("{}{DOCUMENT_SUFFIX}", document.name)))?;
        let code = generate(&spec, document)?;
        files.push((out_dir.join(format!("{}.rs", document.module)), code));
    }
    let leftovers = leftovers(out_dir, &files)?;
    if check {
        let mut stale: Vec<String> = files
            .iter()
            .filter_map(|(path, code)| {
                let committed = fs::read_to_string(path).unwrap_or_default();
                (committed != *code).then(|| stale_report(path, &committed, code))
            })
            .collect();
        stale.extend(leftovers.iter().map(|extra| {
            format!(
                "{} has no spec document any more: run `cargo xtask codegen`",
                extra.display()
            )
        }));
        if !stale.is_empty() {
            return Err(stale.join("\n"));
        }
        for (path, _) in &files {
            println!("{} is up to date", path.display());
        }
        return Ok(());
    }
    fs::create_dir_all(out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    for extra in leftovers {
        fs::remove_file(&extra).map_err(|e| format!("cannot remove {}: {e}", extra.display()))?;
        println!("removed {}", extra.display());
    }
    for (path, code) in &files {
        fs::write(path, code).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {} ({} lines)", path.display(), code.lines().count());
    }
    Ok(())
}

/// The `.rs` files of `out_dir` that no document generates.
fn leftovers(out_dir: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>, String> {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return Ok(Vec::new());
    };
    let mut extra = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let generated = files.iter().any(|(file, _)| *file == path);
        if path.extension().is_some_and(|e| e == "rs") && !generated {
            extra.push(path);
        }
    }
    extra.sort();
    Ok(extra)
}

/// The `mod.rs` of the generated modules: one module a document, and the list of documents.
fn generate_mod(documents: &[Document]) -> Result<String, String> {
    let mut code =
        String::from("//! The generated clients: one module an OpenAPI document of `spec/`.\n\n");
    for document in documents {
        let _ = writeln!(
            code,
            "/// Generated from `spec/{}{DOCUMENT_SUFFIX}`.\n\
             #[allow(missing_docs, clippy::all, clippy::pedantic)]\n#[rustfmt::skip]\n\
             pub mod {};\n",
            document.name, document.module
        );
    }
    code.push_str(
        "/// Every OpenAPI document of `spec/`, the main one first.\n\
         pub const DOCUMENTS: &[crate::spec::Document] = &[\n",
    );
    for document in documents {
        let _ = writeln!(
            code,
            "    crate::spec::Document {{\n        name: {:?},\n        \
             yaml: include_str!(\"../../spec/{}{DOCUMENT_SUFFIX}\"),\n        \
             base_url: {}::DEFAULT_BASE_URL,\n        \
             token_scope: {}::TOKEN_SCOPE,\n        \
             operations: {}::operations::OPERATIONS,\n    }},",
            document.name, document.name, document.module, document.module, document.module
        );
    }
    code.push_str("];\n");
    code.push_str(&any_call(documents));
    let file = syn::parse_str::<syn::File>(&code)
        .map_err(|e| format!("generated/mod.rs does not parse: {e}"))?;
    let laid_out = progenitor_impl::space_out_items(prettyplease::unparse(&file))
        .map_err(|e| format!("cannot lay out generated/mod.rs: {e}"))?;
    Ok(format!(
        "// Generated by `cargo xtask codegen` from spec/*.openapi.yaml; do not edit.\n\n{laid_out}"
    ))
}

/// `AnyCall`: a call of any operation of any document, by its id.
fn any_call(documents: &[Document]) -> String {
    let mut variants = String::new();
    let mut news = String::new();
    let mut operations = String::new();
    let mut indexes = String::new();
    let mut sends = String::new();
    for (index, document) in documents.iter().enumerate() {
        // A module name is lower case, digits and `_`: it always makes a variant name.
        let v = variant_name(&document.module).unwrap_or_default();
        let m = &document.module;
        let _ = writeln!(
            variants,
            "    /// An operation of `spec/{}{DOCUMENT_SUFFIX}`.\n    {v}(Box<{m}::operations::Call>),",
            document.name
        );
        let _ = writeln!(
            news,
            "        if {m}::operations::OPERATIONS.iter().any(|o| o.id == operation_id) {{\n            \
             let call = {m}::operations::Call::new(operation_id, arguments)?;\n            \
             return Ok(Self::{v}(Box::new(call)));\n        }}"
        );
        let _ = writeln!(
            operations,
            "            Self::{v}(call) => call.operation(),"
        );
        let _ = writeln!(indexes, "            Self::{v}(_) => &DOCUMENTS[{index}],");
        let _ = writeln!(
            sends,
            "            Self::{v}(call) => {{\n                \
             call.send({m}::Client::new_with_client(base_url, http, policy)).await\n            }}"
        );
    }
    format!(
        r#"
/// A call of any operation of any document of `spec/`, by its id (see [`crate::operation`]).
/// Boxed: the calls of some documents are much larger than others'.
#[derive(Clone, Debug)]
pub enum AnyCall {{
{variants}}}

impl AnyCall {{
    /// A call of the operation `operation_id` (of whichever document has it) with
    /// `arguments`, if they fit it.
    pub fn new(
        operation_id: &str,
        arguments: crate::operation::Arguments,
    ) -> Result<Self, crate::operation::ArgumentError> {{
{news}        let every = DOCUMENTS.iter().flat_map(|document| document.operations);
        Err(crate::operation::ArgumentError::unknown(operation_id, every))
    }}

    /// The operation called.
    pub fn operation(&self) -> &'static crate::operation::Operation {{
        match self {{
{operations}        }}
    }}

    /// The document of the operation called.
    pub fn document(&self) -> &'static crate::spec::Document {{
        match self {{
{indexes}        }}
    }}

    /// Sends the call to `base_url` with `http`, through `policy`; the answer's body and an
    /// error's as JSON.
    pub async fn send(
        &self,
        base_url: &str,
        http: reqwest::Client,
        policy: std::sync::Arc<dyn crate::CallPolicy>,
    ) -> Result<
        progenitor_client::ResponseValue<crate::operation::Answer>,
        progenitor_client::Error<serde_json::Value>,
    > {{
        match self {{
{sends}        }}
    }}
}}
"#
    )
}

/// Checks that the top-level `spec/` is the api crate's `spec/` (through the symbolic link), so
/// that the file people edit is the one that is generated from, compiled in and published.
pub fn check_spec_link(root: &Path) -> Result<(), String> {
    let linked = fs::canonicalize(root.join("spec"));
    let carried = fs::canonicalize(root.join(SPEC_DIR))
        .map_err(|e| format!("cannot read {SPEC_DIR}: {e}"))?;
    match linked {
        Ok(linked) if linked == carried => Ok(()),
        found => Err(format!(
            "spec/ must be a symbolic link to {SPEC_DIR} (the api crate carries the spec, so \
             that it is published with it), but it {}; recreate it with \
             `rm -r spec && ln -s {SPEC_DIR} spec` (on Windows, clone with \
             `git clone -c core.symlinks=true`), after moving any change you made to spec/ \
             into {SPEC_DIR}",
            match found {
                Ok(other) => format!("is {}", other.display()),
                Err(e) => format!("cannot be read ({e})"),
            }
        )),
    }
}

/// Reads and parses the spec, refusing what progenitor cannot take (it accepts OpenAPI 3.0.x).
fn load_spec(path: &Path) -> Result<OpenAPI, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("cannot read spec {}: {e}", path.display()))?;
    let value: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", path.display()))?;
    match value.get("openapi").and_then(serde_yaml::Value::as_str) {
        Some(version) if version.starts_with("3.0.") => {}
        Some(version) => {
            return Err(format!(
                "{}: OpenAPI {version} is not supported; progenitor reads OpenAPI 3.0.x",
                path.display()
            ));
        }
        None => {
            return Err(format!(
                "{}: no `openapi: 3.0.x` version field",
                path.display()
            ));
        }
    }
    serde_yaml::from_value(value).map_err(|e| {
        format!(
            "{} is not a valid OpenAPI 3.0 document: {e}",
            path.display()
        )
    })
}

/// The token scope of the document's calls: the `x-token-scope` of the security scheme its
/// top-level `security` names (one scheme for the whole document: one API, one audience).
fn token_scope(spec: &OpenAPI) -> Result<String, String> {
    let names: Vec<&String> = spec
        .security
        .iter()
        .flatten()
        .flat_map(|r| r.keys())
        .collect();
    let [name] = names[..] else {
        return Err(format!(
            "needs one security scheme in `security`, not {}",
            names.len()
        ));
    };
    let scheme = spec
        .components
        .as_ref()
        .and_then(|c| c.security_schemes.get(name.as_str()))
        .and_then(|scheme| scheme.as_item())
        .ok_or_else(|| format!("no security scheme {name:?} in components"))?;
    let extensions = match scheme {
        openapiv3::SecurityScheme::HTTP { extensions, .. }
        | openapiv3::SecurityScheme::APIKey { extensions, .. }
        | openapiv3::SecurityScheme::OAuth2 { extensions, .. }
        | openapiv3::SecurityScheme::OpenIDConnect { extensions, .. } => extensions,
    };
    match extensions.get("x-token-scope") {
        Some(serde_json::Value::String(scope)) if !scope.is_empty() => Ok(scope.clone()),
        _ => Err(format!(
            "the security scheme {name:?} has no `x-token-scope` text"
        )),
    }
}

/// The complete module generated from `spec`, the spec document `document`.
pub fn generate(spec: &OpenAPI, document: &Document) -> Result<String, String> {
    let enums = string_enums(spec)?;
    let documented = spec;
    let spec = &without_bodiless_successes(spec);
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote!(::std::sync::Arc<dyn crate::CallPolicy>))
        .with_derive("PartialEq")
        .with_map_type("::std::collections::BTreeMap")
        .with_conversion(
            date_time_schema(),
            "crate::Timestamp",
            [TypeImpl::Display].into_iter(),
        )
        .with_replacement("Amount", "crate::Amount", [TypeImpl::Display].into_iter())
        .with_replacement(
            "ETag",
            "crate::Etag",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    // The models' integers keep their text (a count past 64 bits, the throttling body's
    // `statusCode` inside the untagged `ErrorBody`); bounded query parameters (`$top`,
    // `$skip`) are other schemas and keep their Rust integer types.
    for schema in model_integer_schemas() {
        settings.with_conversion(
            schema,
            "crate::Integer",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    }
    // Objects get `Default`, so that users build one with `..Default::default()` instead of
    // naming every optional field (and the `extra` map).
    let mut default = TypePatch::default();
    default.with_derive("Default");
    for name in optional_objects(spec) {
        settings.with_patch(name, &default);
    }
    for e in &enums {
        settings.with_replacement(
            &e.name,
            format!("{}::enums::{}", document.path(), e.name),
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    }

    let client = generate_client(&settings, spec)?;
    let mut file = syn::parse2::<syn::File>(client)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    lenient::make_lenient(&mut file, &lenient::read_models(spec)?)?;
    boxed::box_success_bodies(&mut file);
    let operations = operations::generate(documented, &file)?;
    let base_url = spec
        .servers
        .first()
        .map(|server| server.url.clone())
        .ok_or_else(|| format!("spec/{}{DOCUMENT_SUFFIX} has no servers", document.name))?;
    let token_scope =
        token_scope(spec).map_err(|e| format!("spec/{}{DOCUMENT_SUFFIX}: {e}", document.name))?;
    let client = progenitor_impl::space_out_items(prettyplease::unparse(&file))
        .map_err(|e| format!("cannot lay out the generated code: {e}"))?;
    let mut code = format!(
        "// Generated by `cargo xtask codegen` from spec/{}{DOCUMENT_SUFFIX}; do not edit.\n\
         // Change the spec (or xtask/src/codegen.rs) and run `cargo xtask codegen` again.\n\n\
         {client}\n\
         /// Where the service is: the spec's first server.\n\
         pub const DEFAULT_BASE_URL: &str = {base_url:?};\n\n\
         /// The scope of this API's tokens: its security scheme's `x-token-scope`.\n\
         pub const TOKEN_SCOPE: &str = {token_scope:?};\n\n\
         // Every request goes through the SDK's policy (see `crate::CallPolicy`).\n\
         crate::call_policy_hooks!(Client);\n",
        document.name
    );
    // In a module of their own, so that `partner_center::models` re-exports every type of
    // the spec with two globs (`types::*`, `enums::*`), no list kept by hand.
    code.push_str(
        "\n/// The spec's string enumerations, open: a value the spec does not list is kept in\n\
         /// `Other`.\npub mod enums {\n",
    );
    for (i, open_enum) in enums.iter().enumerate() {
        if i > 0 {
            code.push('\n');
        }
        for line in open_enum.render().lines() {
            let indent = if line.is_empty() { "" } else { "    " };
            let _ = writeln!(code, "{indent}{line}");
        }
    }
    code.push_str("}\n");
    code.push_str(&operations);
    Ok(code)
}

/// Runs progenitor, turning its errors and its panics (it panics on some response sets) into
/// a message.
fn generate_client(settings: &GenerationSettings, spec: &OpenAPI) -> Result<TokenStream, String> {
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(|| Generator::new(settings).generate_tokens(spec));
    panic::set_hook(quiet);
    match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(format!(
            "progenitor cannot generate a client from the spec: {e}"
        )),
        Err(payload) => {
            let reason = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("no reason given");
            Err(format!(
                "progenitor cannot generate a client from the spec: {reason}"
            ))
        }
    }
}

/// The spec as progenitor can take it: it panics on an operation whose successes mix a body
/// and no body (PATCH answers 200 with the referral, or 204). Such bodiless successes are
/// dropped here, so the generated code returns them as `UnexpectedResponse`, which the SDK
/// takes for the success they are. The spec itself stays true to the service.
fn without_bodiless_successes(spec: &OpenAPI) -> OpenAPI {
    let mut spec = spec.clone();
    for path in spec.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = path else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            let bodied = |r: &ReferenceOr<openapiv3::Response>| match r {
                ReferenceOr::Item(r) => !r.content.is_empty(),
                ReferenceOr::Reference { .. } => true,
            };
            let success = |code: &openapiv3::StatusCode| match code {
                openapiv3::StatusCode::Code(n) => (200..300).contains(n),
                openapiv3::StatusCode::Range(n) => *n == 2,
            };
            if responses.iter().any(|(code, r)| success(code) && bodied(r)) {
                responses.retain(|code, r| !success(code) || bodied(r));
            }
        }
    }
    spec
}

/// The schema progenitor matches for `format: date-time` strings (descriptions are ignored).
fn date_time_schema() -> schemars::schema::SchemaObject {
    schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        format: Some("date-time".to_owned()),
        ..Default::default()
    }
}

/// The schemas progenitor matches for the models' integers: `type: integer` with no format or
/// `format: int64`, without bounds (nullable ones match too: typify looks the non-null part up).
fn model_integer_schemas() -> [schemars::schema::SchemaObject; 2] {
    let integer = |format: Option<&str>| schemars::schema::SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::Integer.into()),
        format: format.map(str::to_owned),
        ..Default::default()
    };
    [integer(None), integer(Some("int64"))]
}

/// A string enumeration of `components/schemas`, generated as an open enum.
struct OpenEnum {
    name: String,
    description: Option<String>,
    /// (Rust variant, wire value)
    values: Vec<(String, String)>,
}

impl OpenEnum {
    /// The `open_enum!` invocation, laid out by hand: prettyplease prints macro bodies on one
    /// run-on line.
    fn render(&self) -> String {
        let mut out = String::from("crate::open_enum! {\n");
        for line in self.description.as_deref().unwrap_or("").trim().lines() {
            let _ = writeln!(
                out,
                "    ///{}{line}",
                if line.is_empty() { "" } else { " " }
            );
        }
        let _ = writeln!(out, "    {} {{", self.name);
        for (variant, wire) in &self.values {
            let _ = writeln!(out, "        /// `{wire}`\n        {variant} = {wire:?},");
        }
        out.push_str("    }\n}\n");
        out
    }
}

/// The names of the spec's object schemas without required fields (all of whose fields can
/// default).
fn optional_objects(spec: &OpenAPI) -> impl Iterator<Item = &String> {
    spec.components
        .iter()
        .flat_map(|c| &c.schemas)
        .filter_map(|(name, schema)| match schema {
            ReferenceOr::Item(Schema {
                schema_kind: SchemaKind::Type(Type::Object(object)),
                ..
            }) if object.required.is_empty() => Some(name),
            _ => None,
        })
}

/// Every named string enum of the spec, in spec order.
fn string_enums(spec: &OpenAPI) -> Result<Vec<OpenEnum>, String> {
    let Some(components) = &spec.components else {
        return Ok(Vec::new());
    };
    let mut enums = Vec::new();
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(Schema {
            schema_data,
            schema_kind: SchemaKind::Type(Type::String(StringType { enumeration, .. })),
        }) = schema
        else {
            continue;
        };
        if enumeration.is_empty() {
            continue;
        }
        let mut values = Vec::new();
        for wire in enumeration.iter().flatten() {
            let variant = match variant_name(wire) {
                // `Other(String)` holds the values the spec does not list: a listed `Other`
                // (e.g. `PricingModel`) is named after its enum instead.
                Some(variant) if variant == "Other" => format!("Other{name}"),
                Some(variant) => variant,
                None => {
                    return Err(format!(
                        "enum {name}: value {wire:?} has no usable Rust name"
                    ));
                }
            };
            if values.iter().any(|(v, _)| *v == variant) {
                return Err(format!(
                    "enum {name}: value {wire:?} collides with another variant"
                ));
            }
            values.push((variant, wire.clone()));
        }
        enums.push(OpenEnum {
            name: name.clone(),
            description: schema_data.description.clone(),
            values,
        });
    }
    Ok(enums)
}

/// `PascalCase` Rust name for a wire value: `SalesQualified` stays, `in-progress` -> `InProgress`.
pub fn variant_name(wire: &str) -> Option<String> {
    let mut name = String::new();
    for word in wire
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars);
        }
    }
    match name.chars().next() {
        None => None,
        Some(c) if c.is_ascii_digit() => Some(format!("V{name}")),
        Some(_) => Some(name),
    }
}

/// A readable account of how the committed file differs from what the spec generates.
fn stale_report(path: &Path, committed: &str, generated: &str) -> String {
    let diff = TextDiff::from_lines(committed, generated);
    let unified = diff
        .unified_diff()
        .context_radius(2)
        .header("committed", "generated")
        .to_string();
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    let mut report = format!(
        "{} is stale: the spec generates {added} line(s) it lacks and drops {removed}; \
         run `cargo xtask codegen` and commit the result\n",
        path.display()
    );
    let lines: Vec<&str> = unified.lines().collect();
    for line in lines.iter().take(DIFF_LINES_SHOWN) {
        let _ = writeln!(report, "{line}");
    }
    if lines.len() > DIFF_LINES_SHOWN {
        let _ = writeln!(
            report,
            "... {} more diff lines",
            lines.len() - DIFF_LINES_SHOWN
        );
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_are_pascal_case_rust_identifiers() {
        assert_eq!(
            variant_name("SalesQualified").as_deref(),
            Some("SalesQualified")
        );
        assert_eq!(variant_name("in-progress").as_deref(), Some("InProgress"));
        assert_eq!(variant_name("100").as_deref(), Some("V100"));
        assert_eq!(variant_name("--"), None);
    }

    #[test]
    fn a_listed_other_value_does_not_take_the_catch_all_name() {
        let spec: OpenAPI = serde_yaml::from_str(
            r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    PricingModel: {type: string, enum: [PayAsYouGo, Other]}
    Clash: {type: string, enum: [in-progress, InProgress]}
"#,
        )
        .unwrap();
        let err = string_enums(&spec).err().unwrap();
        assert!(
            err.contains("enum Clash") && err.contains("collides"),
            "{err}"
        );
        let mut spec = spec;
        spec.components
            .as_mut()
            .unwrap()
            .schemas
            .shift_remove("Clash");
        let enums = string_enums(&spec).unwrap();
        assert_eq!(
            enums[0].values,
            [
                ("PayAsYouGo".to_owned(), "PayAsYouGo".to_owned()),
                ("OtherPricingModel".to_owned(), "Other".to_owned()),
            ]
        );
    }

    #[test]
    fn unsupported_versions_and_bad_yaml_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("xtask-codegen-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let v31 = dir.join("v31.yaml");
        fs::write(
            &v31,
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
        )
        .unwrap();
        let err = load_spec(&v31).unwrap_err();
        assert!(err.contains("OpenAPI 3.1.0 is not supported"), "{err}");

        let broken = dir.join("broken.yaml");
        fs::write(&broken, "openapi: 3.0.3\ninfo: [unclosed\n").unwrap();
        let err = load_spec(&broken).unwrap_err();
        assert!(
            err.contains("is not valid YAML") && err.contains("line"),
            "{err}"
        );

        let err = load_spec(&dir.join("missing.yaml")).unwrap_err();
        assert!(err.starts_with("cannot read spec"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn progenitor_panics_become_errors() {
        // A `default` response next to a typed 200 makes progenitor panic.
        let spec: OpenAPI = serde_yaml::from_str(
            r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /x:
    get:
      operationId: getX
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: string}}}}
        default: {description: err, content: {application/json: {schema: {type: integer}}}}
"#,
        )
        .unwrap();
        let err = generate(&spec, &Document::new("t").unwrap()).unwrap_err();
        assert!(err.starts_with("progenitor cannot generate"), "{err}");
    }

    /// Where the spec is edited: the top-level `spec/` links to the api crate's `spec/`.
    const EDITED_SPEC_PATH: &str = "spec/partner-center.openapi.yaml";

    #[test]
    fn the_top_level_spec_is_the_one_the_api_crate_carries() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check_spec_link(&root).unwrap();
        assert_eq!(
            fs::read(root.join(EDITED_SPEC_PATH)).unwrap(),
            fs::read(root.join(SPEC_DIR).join("partner-center.openapi.yaml")).unwrap()
        );
    }

    #[test]
    fn generation_is_deterministic_and_matches_the_committed_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let documents = documents(&root.join(SPEC_DIR)).unwrap();
        assert_eq!(documents[0].name, MAIN_DOCUMENT);
        for document in &documents {
            let spec = root
                .join(SPEC_DIR)
                .join(format!("{}{DOCUMENT_SUFFIX}", document.name));
            let spec = load_spec(&spec).unwrap();
            let first = generate(&spec, document).unwrap();
            let second = generate(&spec, document).unwrap();
            assert!(first == second, "two runs of {} differ", document.name);
        }
        run(&root.join(SPEC_DIR), &root.join(OUTPUT_DIR), true).unwrap();
    }

    #[test]
    fn document_names_make_module_names() {
        assert_eq!(
            Document::new("partner-center").unwrap().module,
            "partner_center"
        );
        let err = Document::new("Webhooks API").unwrap_err();
        assert!(err.contains("lower case"), "{err}");
    }
}
