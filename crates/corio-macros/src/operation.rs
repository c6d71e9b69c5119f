//! `#[corio_web::operation]`: records a handler's doc comment and its OpenAPI options
//! (FastAPI's decorator arguments) where the document builder finds them.
//!
//! The function is left exactly as written. Beside it the attribute adds an anonymous
//! constant holding a describe function and an `inventory` registration of it, keyed by
//! the function's module path and name (see `corio_web::openapi::registry`).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, LitInt, LitStr, Meta, Token, Type};

/// The options of one `#[operation(...)]`.
#[derive(Default)]
pub(crate) struct Options {
    status: Option<u16>,
    tags: Vec<LitStr>,
    responses: Vec<Response>,
    deprecated: bool,
    operation_id: Option<LitStr>,
    summary: Option<LitStr>,
    description: Option<LitStr>,
    response_description: Option<LitStr>,
}

/// `404 = "Item not found"` or `404 = (Message, "Item not found")`.
struct Response {
    status: u16,
    model: Option<Type>,
    description: LitStr,
}

impl Parse for Response {
    fn parse(input: ParseStream<'_>) -> syn::Result<Response> {
        let status: LitInt = input.parse()?;
        let status = parse_status(&status)?;
        input.parse::<Token![=]>()?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let model: Type = content.parse()?;
            content.parse::<Token![,]>()?;
            let description: LitStr = content.parse()?;
            Ok(Response {
                status,
                model: Some(model),
                description,
            })
        } else {
            Ok(Response {
                status,
                model: None,
                description: input.parse()?,
            })
        }
    }
}

fn parse_status(lit: &LitInt) -> syn::Result<u16> {
    match lit.base10_parse::<u16>() {
        Ok(status) if (100..=599).contains(&status) => Ok(status),
        _ => Err(syn::Error::new(
            lit.span(),
            "a status code is a number from 100 to 599",
        )),
    }
}

pub(crate) fn parse_options(args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let name = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match name.as_str() {
            "status" => {
                let lit: LitInt = meta.value()?.parse()?;
                options.status = Some(parse_status(&lit)?);
            }
            "tags" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let tags = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                options.tags.extend(tags);
            }
            "responses" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let responses = Punctuated::<Response, Token![,]>::parse_terminated(&content)?;
                options.responses.extend(responses);
            }
            "deprecated" => options.deprecated = true,
            "operation_id" => options.operation_id = Some(meta.value()?.parse()?),
            "summary" => options.summary = Some(meta.value()?.parse()?),
            "description" => options.description = Some(meta.value()?.parse()?),
            "response_description" => {
                options.response_description = Some(meta.value()?.parse()?);
            }
            _ => {
                return Err(meta.error(
                    "unknown option; expected one of: status, tags, responses, deprecated, \
                     operation_id, summary, description, response_description",
                ));
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(options)
}

/// The doc comment of `func`, lines joined, one leading space of each removed.
fn doc_comment(func: &ItemFn) -> String {
    let mut lines = Vec::new();
    for attr in &func.attrs {
        if let Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            let line = s.value();
            lines.push(line.strip_prefix(' ').unwrap_or(&line).to_string());
        }
    }
    lines.join("\n")
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error =
                syn::Error::new(Span::call_site(), "#[operation] goes on a handler function")
                    .to_compile_error();
            return quote! { #error #item };
        }
    };
    let options = match parse_options(args) {
        Ok(options) => options,
        Err(error) => {
            let error = error.to_compile_error();
            return quote! { #error #func };
        }
    };
    let name = func.sig.ident.to_string();
    let doc = doc_comment(&func);
    let deprecated =
        options.deprecated || func.attrs.iter().any(|a| a.path().is_ident("deprecated"));

    let mut calls = vec![quote! { operation.doc_comment(#doc); }];
    if let Some(summary) = &options.summary {
        calls.push(quote! { operation.summary(#summary); });
    }
    if let Some(description) = &options.description {
        calls.push(quote! { operation.description(#description); });
    }
    if let Some(status) = options.status {
        calls.push(quote! { operation.status(#status); });
    }
    if let Some(description) = &options.response_description {
        calls.push(quote! { operation.response_description(#description); });
    }
    for tag in &options.tags {
        calls.push(quote! { operation.tag(#tag); });
    }
    for response in &options.responses {
        let (status, description) = (response.status, &response.description);
        calls.push(match &response.model {
            Some(model) => quote! { operation.response::<#model>(#status, #description); },
            None => quote! { operation.response_without_body(#status, #description); },
        });
    }
    if deprecated {
        calls.push(quote! { operation.deprecated(); });
    }
    if let Some(id) = &options.operation_id {
        calls.push(quote! { operation.operation_id(#id); });
    }
    let status = match options.status {
        Some(status) => quote! { ::core::option::Option::Some(#status) },
        None => quote! { ::core::option::Option::None },
    };
    quote! {
        #func

        const _: () = {
            fn describe(operation: &mut ::corio_web::openapi::OperationDoc<'_>) {
                #(#calls)*
            }
            ::corio_web::openapi::__private::inventory::submit! {
                ::corio_web::openapi::__private::OperationMeta {
                    module_path: ::core::module_path!(),
                    name: #name,
                    status: #status,
                    describe,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> TokenStream {
        s.parse().unwrap()
    }

    fn error_of(args: &str) -> String {
        match parse_options(ts(args)) {
            Ok(_) => panic!("{args} should be refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn options_parse() {
        let options = parse_options(ts(r#"status = 201, tags("items", "admin"), deprecated,
               responses(404 = "Item not found", 409 = (Message, "Taken")),
               operation_id = "make", summary = "S", response_description = "Made""#))
        .unwrap();
        assert_eq!(options.status, Some(201));
        assert_eq!(options.tags.len(), 2);
        assert!(options.deprecated);
        assert_eq!(options.responses.len(), 2);
        assert_eq!(options.responses[1].status, 409);
        assert!(options.responses[1].model.is_some());
        assert_eq!(options.operation_id.unwrap().value(), "make");
    }

    #[test]
    fn bad_options_are_refused_clearly() {
        assert!(error_of("status = 42").contains("100 to 599"));
        assert!(error_of("colour = 1").contains("unknown option"));
        assert!(error_of("responses(404)").contains("expected `=`"));
    }

    #[test]
    fn the_function_is_kept_and_its_doc_registered() {
        let out = expand(
            ts("status = 201"),
            ts(
                "/// Create an item\n///\n/// With details.\n#[deprecated] async fn create_item() {}",
            ),
        );
        let text = out.to_string();
        assert!(text.contains("async fn create_item"), "{text}");
        assert!(
            text.contains(r#"doc_comment ("Create an item\n\nWith details.")"#),
            "{text}"
        );
        assert!(text.contains("operation . status (201u16)"), "{text}");
        assert!(text.contains("operation . deprecated ()"), "{text}");
        assert!(text.contains(r#"name : "create_item""#), "{text}");
    }

    #[test]
    fn a_non_function_is_an_error() {
        let out = expand(ts(""), ts("struct NotAFunction;"));
        assert!(out.to_string().contains("goes on a handler function"));
    }
}
