//! Boxed answers: every generated operation whose success is a JSON body returns the body in a
//! `Box`. A model can be large (a referral is 2,376 bytes), and between its decode and the
//! caller it passes through progenitor's `from_response`, the operation, and each async layer
//! of the SDK's policy; boxed as soon as it is decoded, each of them moves a pointer instead
//! of copying it.

use syn::{GenericArgument, ImplItem, Item, PathArguments, ReturnType, Type};

/// What progenitor answers with when there is no JSON body to decode: left as they are.
const UNBOXED: [&str; 3] = ["()", "ByteStream", "Upgraded"];

/// Boxes the success body of every method of the generated `impl Client`.
pub fn box_success_bodies(file: &mut syn::File) {
    for item in &mut file.items {
        let Item::Impl(block) = item else { continue };
        if block.trait_.is_some() || !is_named(&block.self_ty, "Client") {
            continue;
        }
        for item in &mut block.items {
            let ImplItem::Fn(method) = item else { continue };
            let ReturnType::Type(_, output) = &mut method.sig.output else {
                continue;
            };
            let Some(body) = generic(output, "Result").and_then(|ok| generic(ok, "ResponseValue"))
            else {
                continue;
            };
            if !UNBOXED.iter().any(|name| is_named(body, name)) {
                *body = syn::parse_quote!(::std::boxed::Box<#body>);
            }
        }
    }
}

/// The first type argument of `ty` when `ty` is `name<...>`.
fn generic<'t>(ty: &'t mut Type, name: &str) -> Option<&'t mut Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last_mut()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &mut last.arguments else {
        return None;
    };
    arguments
        .args
        .iter_mut()
        .find_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
}

/// Whether `ty` is `()` or a path whose last segment is `name`.
fn is_named(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty() && name == "()",
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(code: &str) -> String {
        let mut file: syn::File = syn::parse_str(code).unwrap();
        box_success_bodies(&mut file);
        quote::quote!(#file).to_string().replace(' ', "")
    }

    #[test]
    fn json_bodies_are_boxed_and_the_others_left() {
        let code = boxed(
            "impl Client {
                pub async fn get(&self) -> Result<ResponseValue<types::Referral>, Error<types::ErrorBody>> { todo!() }
                pub async fn list(&self) -> Result<ResponseValue<::std::vec::Vec<types::Referral>>, Error<()>> { todo!() }
                pub async fn delete(&self) -> Result<ResponseValue<()>, Error<types::ErrorBody>> { todo!() }
                pub async fn download(&self) -> Result<ResponseValue<ByteStream>, Error<()>> { todo!() }
                pub fn baseurl(&self) -> &String { todo!() }
            }
            impl ClientHooks for Client {
                async fn exec(&self) -> Result<ResponseValue<types::Other>, Error<()>> { todo!() }
            }",
        );
        assert!(code.contains(
            "Result<ResponseValue<::std::boxed::Box<types::Referral>>,Error<types::ErrorBody>>"
        ));
        assert!(code.contains(
            "Result<ResponseValue<::std::boxed::Box<::std::vec::Vec<types::Referral>>>,Error<()>>"
        ));
        assert!(code.contains("Result<ResponseValue<()>,Error<types::ErrorBody>>"));
        assert!(code.contains("Result<ResponseValue<ByteStream>,Error<()>>"));
        assert!(code.contains("Result<ResponseValue<types::Other>,Error<()>>"));
        assert_eq!(code.matches("::std::boxed::Box").count(), 2);
    }
}
