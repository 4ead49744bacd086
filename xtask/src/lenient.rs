//! Drift-proof models: progenitor derives serde for every object, and an object whose known
//! field does not fit its type fails whole (and the page around it). This step hands every
//! object with an `extra` map to the api crate's `lenient_object!` instead, which writes its
//! serde code field by field (see `crates/partner-center-api/src/lenient.rs`), and gives every
//! other type of the models the lenient reading through `lenient_via_value!`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, GenericArgument, Item, PathArguments, Token, Type};

/// The field every object with `additionalProperties` has for the fields the spec does not know.
const EXTRA: &str = "extra";

/// The component schemas an answer of the service can hold (reachable from a response): the
/// models the client reads, which must not fail over drift. The others are only sent (a
/// create's `NewReferral`): their serde stays strict, so that the spec's rules hold for them.
pub fn read_models(spec: &openapiv3::OpenAPI) -> Result<BTreeSet<String>, String> {
    let spec = serde_json::to_value(spec).map_err(|e| e.to_string())?;
    let schemas = &spec["components"]["schemas"];
    let mut pending: Vec<String> = Vec::new();
    let mut responses = Vec::new();
    for path in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in path.as_object().into_iter().flat_map(|o| o.values()) {
            responses.push(&operation["responses"]);
        }
    }
    responses.extend(
        spec["components"]["responses"]
            .as_object()
            .into_iter()
            .flat_map(|r| r.values()),
    );
    for response in responses {
        refs(response, &mut pending);
    }
    let mut reached = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if reached.insert(name.clone()) {
            refs(&schemas[&name], &mut pending);
        }
    }
    Ok(reached)
}

/// The names of the component schemas `value` refers to, anywhere inside it.
fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, inner) in fields {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            out.push(name.to_owned());
                        }
                    }
                    _ => refs(inner, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Rewrites the `types` module of `file`: the objects named in `read` lenient, and lenient
/// reading (through a buffered value) for every other type.
pub fn make_lenient(file: &mut syn::File, read: &BTreeSet<String>) -> Result<(), String> {
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            Item::Mod(module) if module.ident == "types" => module.content.as_mut(),
            _ => None,
        })
        .ok_or("progenitor produced no `types` module")?;
    let items = &mut types.1;
    let mut declared = Vec::new();
    let mut others = Vec::new();
    for item in items.iter_mut() {
        match item {
            Item::Struct(object)
                if has_extra(&object.fields) && read.contains(&object.ident.to_string()) =>
            {
                declared.push(declare(object)?);
            }
            Item::Struct(other) => others.push(other.ident.clone()),
            Item::Enum(other) => others.push(other.ident.clone()),
            _ => {}
        }
    }
    for declaration in declared {
        items.push(syn::parse2(declaration).map_err(|e| e.to_string())?);
    }
    if !others.is_empty() {
        items.push(
            syn::parse2(quote!(crate::lenient::lenient_via_value!(#(#others),*);))
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(())
}

/// Whether `fields` holds the flattened `extra` map.
fn has_extra(fields: &Fields) -> bool {
    fields
        .iter()
        .any(|field| field.ident.as_ref().is_some_and(|name| name == EXTRA))
}

/// Takes serde off `object` and returns its `lenient_object!` declaration.
fn declare(object: &mut syn::ItemStruct) -> Result<TokenStream, String> {
    let name = object.ident.clone();
    strip_serde(&mut object.attrs);
    let mut declared = Vec::new();
    for field in object.fields.iter_mut() {
        let ident = field.ident.clone().ok_or("a tuple struct with `extra`")?;
        let wire = renamed(&field.attrs).unwrap_or_else(|| ident.to_string());
        let defaulted = has_default(&field.attrs);
        strip_serde(&mut field.attrs);
        if ident == EXTRA {
            continue;
        }
        // An optional list or map typify defaults to empty (`#[serde(default)]`) becomes an
        // `Option`: absent, `[]` and `null` are three answers, each written back as it came.
        if defaulted && option_of(&field.ty).is_none() {
            let ty = &field.ty;
            field.ty = syn::parse_quote!(::std::option::Option<#ty>);
        }
        let (mode, ty) = match option_of(&field.ty) {
            Some(inner) => (quote!(opt), inner.clone()),
            None => (quote!(req), field.ty.clone()),
        };
        declared.push(quote!(#mode #ident: #ty = #wire));
    }
    Ok(quote!(crate::lenient::lenient_object!(#name { #(#declared),* });))
}

/// Removes `#[serde(...)]` and the serde derives: `lenient_object!` writes both.
fn strip_serde(attrs: &mut Vec<Attribute>) {
    attrs.retain(|attr| !attr.path().is_ident("serde"));
    for attr in attrs
        .iter_mut()
        .filter(|attr| attr.path().is_ident("derive"))
    {
        let Ok(derives) =
            attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
        else {
            continue;
        };
        let kept: Vec<&syn::Path> = derives
            .iter()
            .filter(|path| {
                let last = path.segments.last().map(|s| s.ident.to_string());
                !matches!(last.as_deref(), Some("Serialize" | "Deserialize"))
            })
            .collect();
        *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
    }
}

/// Whether a field has `#[serde(default)]` (typify's optional lists and maps).
fn has_default(attrs: &[Attribute]) -> bool {
    let mut default = false;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                default = true;
            }
            if meta.input.peek(Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    default
}

/// The wire name of a field typify renamed (`#[serde(rename = "createdDateTime", ...)]`).
fn renamed(attrs: &[Attribute]) -> Option<String> {
    let mut wire = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                wire = Some(value.value());
            } else if meta.input.peek(Token![=]) {
                // Another `key = value` (skip_serializing_if, default...): read past it.
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    wire
}

/// `T` of `Option<T>` (typify writes `::std::option::Option<T>`).
pub fn option_of(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_lose_serde_and_gain_a_declaration() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
                pub struct Thing {
                    pub code: ::std::string::String,
                    #[serde(rename = "createdDateTime", skip_serializing_if = "::std::option::Option::is_none")]
                    pub created_date_time: ::std::option::Option<crate::Timestamp>,
                    #[serde(flatten)]
                    pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                }
                #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug)]
                #[serde(untagged)]
                pub enum Either { A(Thing), B(::std::string::String) }
            }
        };
        make_lenient(&mut file, &BTreeSet::from(["Thing".to_owned()])).unwrap();
        let code = prettyplease::unparse(&file);
        assert!(
            code.contains("#[derive(Clone, Debug, PartialEq)]\n    pub struct Thing"),
            "{code}"
        );
        assert!(
            !code.contains("flatten") && !code.contains("rename"),
            "{code}"
        );
        assert!(
            code.contains("#[serde(untagged)]"),
            "others keep serde: {code}"
        );
        let compact: String = code.split_whitespace().collect();
        assert!(
            compact.contains(
                "crate::lenient::lenient_object!(Thing{reqcode:::std::string::String=\"code\",\
                 optcreated_date_time:crate::Timestamp=\"createdDateTime\"});"
            ),
            "{code}"
        );
        assert!(
            compact.contains("crate::lenient::lenient_via_value!(Either);"),
            "{code}"
        );
    }
}
