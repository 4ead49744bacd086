//! The spec's operations as data, and a call of any of them by name: the generated `operations`
//! module (its `OPERATIONS` table and its `Call`), on the api crate's `operation` module.
//!
//! The table comes from the spec (ids, methods, paths, parameters with `x-loggable`, bodies,
//! success statuses, `x-ms-pageable`); `Call` from the methods progenitor generated, read back
//! from its code, so that every parameter has the exact type and place progenitor gave it.

use std::fmt::Write as _;

use openapiv3::{OpenAPI, Parameter, ReferenceOr, StatusCode};
use syn::{GenericArgument, ImplItem, Item, PathArguments, Type};

use crate::codegen::variant_name;
use crate::lenient::option_of;

/// The `operations` module for `spec`, whose client progenitor generated as `file`.
pub fn generate(spec: &OpenAPI, file: &syn::File) -> Result<String, String> {
    let methods = client_methods(file);
    let mut operations = Vec::new();
    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            return Err(format!("path {path}: a $ref path item is not supported"));
        };
        for (method, operation) in item.iter() {
            let id = operation
                .operation_id
                .clone()
                .ok_or_else(|| format!("{method} {path} has no operationId"))?;
            let mut parameters = Vec::new();
            // The operation's own parameters override the path's of the same name and place.
            for parameter in operation.parameters.iter().chain(&item.parameters) {
                let parameter = resolve_parameter(spec, parameter)?;
                if !parameters.iter().any(|p: &Param| p.same(&parameter)) {
                    parameters.push(parameter);
                }
            }
            parameters.sort_by_key(|p| p.location);
            let body = match &operation.request_body {
                None => None,
                Some(ReferenceOr::Item(body)) => Some(body.required),
                Some(ReferenceOr::Reference { reference }) => {
                    let name = reference.trim_start_matches("#/components/requestBodies/");
                    let body = spec
                        .components
                        .as_ref()
                        .and_then(|c| c.request_bodies.get(name))
                        .and_then(|b| b.as_item())
                        .ok_or_else(|| format!("{id}: no request body {reference}"))?;
                    Some(body.required)
                }
            };
            let successes = operation
                .responses
                .responses
                .keys()
                .filter_map(|code| match code {
                    StatusCode::Code(code) if (200..300).contains(code) => Some(*code),
                    _ => None,
                })
                .collect();
            let paging = match operation.extensions.get("x-ms-pageable") {
                None => None,
                Some(pageable) => Some(paging(&id, pageable)?),
            };
            let normalized = normalize(&id);
            let method_fn = methods
                .iter()
                .find(|m| normalize(&m.name) == normalized)
                .ok_or_else(|| format!("{id}: progenitor generated no method for it"))?;
            operations.push(Op {
                id,
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                summary: operation.summary.clone().unwrap_or_default(),
                parameters,
                body,
                successes,
                paging,
                method_fn: method_fn.clone(),
            });
        }
    }
    render(&operations)
}

/// An operation, as the table and the call need it.
struct Op {
    id: String,
    method: String,
    path: String,
    summary: String,
    parameters: Vec<Param>,
    body: Option<bool>,
    successes: Vec<u16>,
    paging: Option<(String, String)>,
    method_fn: Method,
}

/// A parameter of an operation.
struct Param {
    name: String,
    location: Location,
    required: bool,
    loggable: bool,
}

impl Param {
    fn same(&self, other: &Param) -> bool {
        self.location == other.location && self.name == other.name
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Location {
    Path,
    Query,
    Header,
}

/// A method progenitor generated on `Client`: its name, its arguments (name, type), and the
/// error type of what it returns (`Result<ResponseValue<T>, Error<E>>`).
#[derive(Clone)]
struct Method {
    name: String,
    arguments: Vec<(String, Type)>,
    error: String,
}

fn resolve_parameter(spec: &OpenAPI, parameter: &ReferenceOr<Parameter>) -> Result<Param, String> {
    let parameter = match parameter {
        ReferenceOr::Item(parameter) => parameter,
        ReferenceOr::Reference { reference } => {
            let name = reference.trim_start_matches("#/components/parameters/");
            spec.components
                .as_ref()
                .and_then(|c| c.parameters.get(name))
                .and_then(|p| p.as_item())
                .ok_or_else(|| format!("no parameter {reference}"))?
        }
    };
    let location = match parameter {
        Parameter::Path { .. } => Location::Path,
        Parameter::Query { .. } => Location::Query,
        Parameter::Header { .. } => Location::Header,
        Parameter::Cookie { parameter_data, .. } => {
            return Err(format!(
                "parameter {}: cookie parameters are not supported",
                parameter_data.name
            ));
        }
    };
    let data = parameter.parameter_data_ref();
    let loggable = match data.extensions.get("x-loggable") {
        None => false,
        Some(serde_json::Value::Bool(loggable)) => *loggable,
        Some(other) => {
            return Err(format!(
                "parameter {}: x-loggable must be true or false, not {other}",
                data.name
            ));
        }
    };
    Ok(Param {
        name: data.name.clone(),
        location,
        required: data.required,
        loggable,
    })
}

/// `x-ms-pageable`'s member names: `nextLinkName` (required) and `itemName` (default `value`).
fn paging(id: &str, pageable: &serde_json::Value) -> Result<(String, String), String> {
    let field = |name: &str| pageable.get(name).and_then(serde_json::Value::as_str);
    let next_link =
        field("nextLinkName").ok_or_else(|| format!("{id}: x-ms-pageable needs a nextLinkName"))?;
    Ok((
        field("itemName").unwrap_or("value").to_owned(),
        next_link.to_owned(),
    ))
}

/// The methods of the generated `impl Client` blocks.
fn client_methods(file: &syn::File) -> Vec<Method> {
    let mut methods = Vec::new();
    for item in &file.items {
        let Item::Impl(block) = item else { continue };
        let is_client = block.trait_.is_none()
            && matches!(&*block.self_ty, Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            continue;
        }
        for item in &block.items {
            let ImplItem::Fn(function) = item else {
                continue;
            };
            if function.sig.asyncness.is_none() {
                continue;
            }
            let arguments = function
                .sig
                .inputs
                .iter()
                .filter_map(|input| match input {
                    syn::FnArg::Typed(typed) => match &*typed.pat {
                        syn::Pat::Ident(ident) => {
                            Some((ident.ident.to_string(), (*typed.ty).clone()))
                        }
                        _ => None,
                    },
                    syn::FnArg::Receiver(_) => None,
                })
                .collect();
            methods.push(Method {
                name: function.sig.ident.to_string(),
                arguments,
                error: error_type(&function.sig.output).unwrap_or_default(),
            });
        }
    }
    methods
}

/// `E` of a method returning `Result<ResponseValue<T>, Error<E>>`.
fn error_type(output: &syn::ReturnType) -> Option<String> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let PathArguments::AngleBracketed(result) = &path.path.segments.last()?.arguments else {
        return None;
    };
    let Some(GenericArgument::Type(Type::Path(error))) = result.args.iter().nth(1) else {
        return None;
    };
    let PathArguments::AngleBracketed(error) = &error.path.segments.last()?.arguments else {
        return None;
    };
    match error.args.first()? {
        GenericArgument::Type(e) => Some(tokens(e)),
        _ => None,
    }
}

/// A name without case or separators, to match the spec's names with progenitor's
/// (`MS-CorrelationId` and `ms_correlation_id`, `$top` and `top`).
fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How an argument of a generated method is held in a `Call` and passed to the method.
enum Shape {
    /// `Option<&'a T>`: held as `Option<T>`, passed `.as_ref()`.
    OptionalRef(Type),
    /// `Option<&'a str>` or `Option<&'a [T]>`: held as `Option<String>` or `Option<Vec<T>>`,
    /// passed `.as_deref()`.
    OptionalUnsized(Type),
    /// `Option<T>`: held and passed (cloned) as is.
    Optional(Type),
    /// `&'a T`: held as `T` (`String` for `str`, `Vec<T>` for `[T]`), passed by reference.
    Ref(Type),
    /// `T`: held and passed (cloned) as is.
    Value(Type),
}

impl Shape {
    fn of(ty: &Type) -> Shape {
        if let Some(inner) = option_of(ty) {
            return match inner {
                Type::Reference(r) => match owned(&r.elem) {
                    Some(owner) => Shape::OptionalUnsized(owner),
                    None => Shape::OptionalRef((*r.elem).clone()),
                },
                other => Shape::Optional(other.clone()),
            };
        }
        match ty {
            Type::Reference(r) => Shape::Ref(owned(&r.elem).unwrap_or_else(|| (*r.elem).clone())),
            other => Shape::Value(other.clone()),
        }
    }

    fn held(&self) -> String {
        match self {
            Shape::OptionalRef(t) | Shape::OptionalUnsized(t) | Shape::Optional(t) => {
                format!("Option<{}>", tokens(t))
            }
            Shape::Ref(t) | Shape::Value(t) => tokens(t),
        }
    }

    fn optional(&self) -> bool {
        !matches!(self, Shape::Ref(_) | Shape::Value(_))
    }

    fn passed(&self, field: &str) -> String {
        match self {
            Shape::OptionalRef(_) => format!("{field}.as_ref()"),
            Shape::OptionalUnsized(_) => format!("{field}.as_deref()"),
            // A `&String` or `&Vec<T>` coerces to the `&str` or `&[T]` asked for.
            Shape::Ref(_) => field.to_owned(),
            Shape::Optional(_) | Shape::Value(_) => format!("{field}.clone()"),
        }
    }
}

/// The owned type that holds a borrowed unsized `elem`: `String` for `str`, `Vec<T>` for
/// `[T]`; `None` for a sized one, held as itself.
fn owned(elem: &Type) -> Option<Type> {
    match elem {
        Type::Path(path) if path.path.is_ident("str") => Some(syn::parse_quote!(String)),
        Type::Slice(slice) => {
            let item = &slice.elem;
            Some(syn::parse_quote!(Vec<#item>))
        }
        _ => None,
    }
}

fn tokens(ty: &Type) -> String {
    quote::quote!(#ty).to_string()
}

fn render(operations: &[Op]) -> Result<String, String> {
    // `Call::send` returns one type for every operation: their error types must agree.
    let error = operations
        .first()
        .map_or_else(|| "()".to_owned(), |op| op.method_fn.error.clone());
    if let Some(other) = operations.iter().find(|op| op.method_fn.error != error) {
        return Err(format!(
            "{}'s errors are {}, the other operations' {error}: give every operation of a \
             document the same error schema",
            other.id, other.method_fn.error
        ));
    }
    let mut table = String::new();
    let mut variants = String::new();
    let mut news = String::new();
    let mut which = String::new();
    let mut sends = String::new();
    for (index, op) in operations.iter().enumerate() {
        let name = &op.method_fn.name;
        let parameters: Vec<String> = op
            .parameters
            .iter()
            .map(|p| {
                format!(
                    "Parameter {{ name: {:?}, location: Location::{:?}, required: {}, loggable: {} }}",
                    p.name, p.location, p.required, p.loggable
                )
            })
            .collect();
        let body = match op.body {
            None => "None".to_owned(),
            Some(required) => format!("Some(RequestBody {{ required: {required} }})"),
        };
        let paging = match &op.paging {
            None => "None".to_owned(),
            Some((items, next_link)) => {
                format!("Some(Paging {{ items: {items:?}, next_link: {next_link:?} }})")
            }
        };
        let _ = writeln!(
            table,
            "Operation {{ id: {:?}, name: {name:?}, method: {:?}, path: {:?}, summary: {:?}, \
             parameters: &[{}], body: {body}, successes: &{:?}, paging: {paging} }},",
            op.id,
            op.method,
            op.path,
            op.summary,
            parameters.join(", "),
            op.successes,
        );

        let variant =
            variant_name(&op.id).ok_or_else(|| format!("{}: the id makes no Rust name", op.id))?;
        let mut fields = String::new();
        let mut takes = String::new();
        let mut passed = Vec::new();
        for (argument, ty) in &op.method_fn.arguments {
            let shape = Shape::of(ty);
            let _ = writeln!(fields, "{argument}: {},", shape.held());
            let take = if argument == "body" {
                if op.body.is_none() {
                    return Err(format!("{}: a body argument but no request body", op.id));
                }
                if shape.optional() {
                    "take_body(o)"
                } else {
                    "require_body(o)"
                }
                .to_owned()
            } else {
                let at = op
                    .parameters
                    .iter()
                    .position(|p| normalize(&p.name) == normalize(argument))
                    .ok_or_else(|| {
                        format!("{}: no spec parameter for the argument {argument}", op.id)
                    })?;
                let how = if shape.optional() { "take" } else { "require" };
                format!("{how}(o, &o.parameters[{at}])")
            };
            let _ = writeln!(takes, "{argument}: arguments.{take}?,");
            passed.push(shape.passed(argument));
        }
        let field_names: Vec<&str> = op
            .method_fn
            .arguments
            .iter()
            .map(|(a, _)| a.as_str())
            .collect();
        let _ = writeln!(
            variants,
            "/// `{}` ({} `{}`)\n{variant} {{ {fields} }},",
            op.id, op.method, op.path
        );
        let _ = writeln!(
            news,
            "{:?} => {{ let o = &OPERATIONS[{index}]; Self::{variant} {{ {takes} }} }}",
            op.id
        );
        let _ = writeln!(which, "Self::{variant} {{ .. }} => &OPERATIONS[{index}],");
        let _ = writeln!(
            sends,
            "Self::{variant} {{ {} }} => answer(operation, client.{name}({}).await),",
            field_names.join(", "),
            passed.join(", ")
        );
    }
    // Only what the table uses, or the compiler warns.
    let mut extra_uses = String::new();
    if operations.iter().any(|op| op.paging.is_some()) {
        extra_uses.push_str(", Paging");
    }
    if operations.iter().any(|op| op.body.is_some()) {
        extra_uses.push_str(", RequestBody");
    }
    let code = format!(
        r#"
/// What every generated operation with a JSON body returns: the body boxed (see xtask's
/// `boxed.rs`: a model can be large, and boxed it is not copied on its way to the caller).
pub type GeneratedResult<T> = Result<ResponseValue<Box<T>>, Error<{error}>>;

/// The spec's operations as data, and a call of any of them from its parameters by name (see
/// [`crate::operation`]).
pub mod operations {{
    use super::{{types, Client}};
    use crate::operation::{{answer, Answer, ArgumentError, Arguments, Location, Operation, Parameter{extra_uses}}};

    /// Every operation of the spec, in spec order.
    pub const OPERATIONS: &[Operation] = &[
        {table}
    ];

    /// A call of one operation, its arguments checked against the operation's types.
    #[derive(Clone, Debug)]
    pub enum Call {{
        {variants}
    }}

    impl Call {{
        /// A call of the operation `operation_id` with `arguments`, if they fit it.
        pub fn new(operation_id: &str, mut arguments: Arguments) -> Result<Self, ArgumentError> {{
            let call = match operation_id {{
                {news}
                _ => return Err(ArgumentError::unknown(operation_id, OPERATIONS)),
            }};
            arguments.finish(call.operation())?;
            Ok(call)
        }}

        /// The operation called.
        pub fn operation(&self) -> &'static Operation {{
            match self {{
                {which}
            }}
        }}

        /// Sends the call with `client`; the answer is the body as JSON, and so is an error's.
        pub async fn send(&self, client: Client) -> Result<super::ResponseValue<Answer>, super::Error<serde_json::Value>> {{
            let operation = self.operation();
            match self {{
                {sends}
            }}
        }}
    }}
}}
"#
    );
    let file: syn::File =
        syn::parse_str(&code).map_err(|e| format!("the operations module does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}
