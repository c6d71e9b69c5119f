//! Parsing and expansion of `#[corio::main]` / `#[corio::test]`, on `proc_macro2` tokens.
//!
//! [`expand`] never fails: problems become `compile_error!` items spanned at the offending
//! tokens. When only the options are wrong, the function is still expanded (with the default
//! options) next to the errors, so the user sees the option error and nothing else; when the
//! function itself cannot be expanded (not `async`, arguments), it is emitted unchanged.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, ReturnType, Token, Type};

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr_name(self) -> &'static str {
        match self {
            Kind::Main => "#[corio::main]",
            Kind::Test => "#[corio::test]",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The scheduler the generated code builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The options, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    /// Only ever `Some` with [`Flavor::MultiThread`].
    pub(crate) worker_threads: Option<usize>,
}

impl Config {
    fn default_for(kind: Kind) -> Config {
        Config {
            flavor: kind.default_flavor(),
            worker_threads: None,
        }
    }
}

const OPTIONS: &str = "`flavor` and `worker_threads`";

/// Expands the attribute `kind` with options `args` on `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let (config, config_err) = match parse_config(kind, args) {
        Ok(config) => (config, None),
        Err(err) => (Config::default_for(kind), Some(err)),
    };

    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                format!("{} goes on an `async fn`", kind.attr_name()),
            );
            return with_errors(item, [config_err, Some(err)]);
        }
    };

    match check_fn(kind, &func) {
        Ok(()) => {
            let mut func = func;
            let test_attr_err = match kind {
                Kind::Test => remove_test_attrs(&mut func),
                Kind::Main => None,
            };
            with_errors(expand_fn(kind, config, func), [config_err, test_attr_err])
        }
        Err(fn_err) => with_errors(item, [config_err, Some(fn_err)]),
    }
}

/// `tokens` followed by one `compile_error!` per error.
fn with_errors<const N: usize>(
    mut tokens: TokenStream,
    errors: [Option<syn::Error>; N],
) -> TokenStream {
    for err in errors.into_iter().flatten() {
        tokens.extend(err.to_compile_error());
    }
    tokens
}

/// Parses `flavor = "..."`, `worker_threads = N`, reporting every problem at once.
pub(crate) fn parse_config(kind: Kind, args: TokenStream) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;

    let mut errors: Option<syn::Error> = None;
    let mut push = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };

    let mut flavor: Option<(Flavor, Span)> = None;
    let mut worker_threads: Option<(usize, Span)> = None;

    for meta in metas {
        let name_value = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                let msg = match other.path().get_ident() {
                    Some(ident) if ident == "flavor" || ident == "worker_threads" => {
                        format!("`{ident}` needs a value: `{ident} = ...`")
                    }
                    _ => format!(
                        "unknown option `{}`; {} takes {OPTIONS}",
                        path_string(other.path()),
                        kind.attr_name()
                    ),
                };
                push(syn::Error::new_spanned(other, msg));
                continue;
            }
        };
        let name = path_string(&name_value.path);
        let name_span = name_value.path.span();
        match name.as_str() {
            "flavor" => {
                if flavor.is_some() {
                    push(syn::Error::new(
                        name_span,
                        "`flavor` is given more than once",
                    ));
                    continue;
                }
                match parse_flavor(&name_value.value) {
                    Ok(f) => flavor = Some((f, name_span)),
                    Err(err) => push(err),
                }
            }
            "worker_threads" => {
                if worker_threads.is_some() {
                    push(syn::Error::new(
                        name_span,
                        "`worker_threads` is given more than once",
                    ));
                    continue;
                }
                match parse_worker_threads(&name_value.value) {
                    Ok(n) => worker_threads = Some((n, name_span)),
                    Err(err) => push(err),
                }
            }
            _ => push(syn::Error::new(
                name_span,
                format!(
                    "unknown option `{name}`; {} takes {OPTIONS}",
                    kind.attr_name()
                ),
            )),
        }
    }

    let flavor = flavor.map_or(kind.default_flavor(), |(f, _)| f);
    if let (Flavor::CurrentThread, Some((_, span))) = (flavor, worker_threads) {
        let attr = match kind {
            Kind::Main => "#[corio::main(worker_threads = N)]",
            Kind::Test => "#[corio::test(flavor = \"multi_thread\", worker_threads = N)]",
        };
        push(syn::Error::new(
            span,
            format!(
                "`worker_threads` needs the multi-thread flavor (a current-thread runtime runs \
                 everything on the calling thread); use {attr}"
            ),
        ));
    }

    match errors {
        Some(err) => Err(err),
        None => Ok(Config {
            flavor,
            worker_threads: worker_threads.map(|(n, _)| n),
        }),
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.value().as_str() {
            "current_thread" => Ok(Flavor::CurrentThread),
            "multi_thread" => Ok(Flavor::MultiThread),
            other => Err(syn::Error::new(
                s.span(),
                format!(
                    "unknown runtime flavor \"{other}\"; expected \"current_thread\" or \
                     \"multi_thread\""
                ),
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "`flavor` takes a string: \"current_thread\" or \"multi_thread\"",
        )),
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<usize>() {
            Ok(0) => Err(syn::Error::new(
                int.span(),
                "`worker_threads` must be at least 1",
            )),
            Ok(n) => Ok(n),
            Err(_) => Err(syn::Error::new(
                int.span(),
                "`worker_threads` takes a positive integer, e.g. `worker_threads = 2`",
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "`worker_threads` takes an integer literal, e.g. `worker_threads = 2`",
        )),
    }
}

fn path_string(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Refuses functions the attribute cannot turn into a runtime entry point.
fn check_fn(kind: Kind, func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    let mut errors: Vec<syn::Error> = Vec::new();

    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "{} goes on an `async fn`: the `async` keyword is missing here",
                kind.attr_name()
            ),
        ));
    }

    let takes_args = !sig.inputs.is_empty();
    match kind {
        Kind::Main if takes_args && sig.ident == "main" => {
            errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "`main` takes no arguments; read them with `std::env::args()`",
            ));
        }
        Kind::Test if takes_args => {
            errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "a test function takes no arguments",
            ));
        }
        _ => {}
    }

    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            for err in errors {
                first.combine(err);
            }
            Err(first)
        }
    }
}

/// Takes a user-written `#[test]` off `func` (the expansion adds its own) and reports it.
///
/// The function is expanded all the same, so the report is the only error the user sees.
fn remove_test_attrs(func: &mut ItemFn) -> Option<syn::Error> {
    let mut err: Option<syn::Error> = None;
    func.attrs.retain(|attr| {
        if !is_test_attr(attr) {
            return true;
        }
        let this = syn::Error::new_spanned(
            attr,
            "#[corio::test] adds `#[test]` itself; remove this one",
        );
        match &mut err {
            Some(all) => all.combine(this),
            None => err = Some(this),
        }
        false
    });
    err
}

/// `#[test]`, `#[core::prelude::v1::test]` and the like.
fn is_test_attr(attr: &syn::Attribute) -> bool {
    matches!(attr.meta, Meta::Path(_))
        && attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "test")
}

/// The function, made synchronous, with a body that blocks on the original one.
fn expand_fn(kind: Kind, config: Config, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;

    let builder = match config.flavor {
        Flavor::CurrentThread => quote! { ::corio::runtime::Builder::new_current_thread() },
        Flavor::MultiThread => quote! { ::corio::runtime::Builder::new_multi_thread() },
    };
    let worker_threads = config
        .worker_threads
        .map(|n| quote! { .worker_threads(#n) });

    // Naming the output type lets `?` in the body convert into the declared error type: an
    // async block's output is otherwise inferred from its body alone.
    let annotate = match &sig.output {
        ReturnType::Type(_, ty) if !matches!(**ty, Type::ImplTrait(_) | Type::Never(_)) => {
            Some(quote! {
                let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #ty>> =
                    ::core::pin::pin!(body);
            })
        }
        _ => None,
    };

    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });

    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            let body = async move #block;
            #annotate
            #builder
                #worker_threads
                .build()
                .expect("corio: failed to build the runtime")
                .block_on(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> TokenStream {
        s.parse().expect("test input tokenizes")
    }

    /// Compact form of a token stream: no spaces, so comparisons ignore formatting.
    fn compact(tokens: &TokenStream) -> String {
        tokens.to_string().replace(' ', "")
    }

    /// The messages of every `compile_error!` in `out`.
    fn errors(out: &TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(out.clone()).expect("expansion parses as items");
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Macro(m) if m.mac.path.segments.last()?.ident == "compile_error" => {
                    Some(
                        syn::parse2::<syn::LitStr>(m.mac.tokens.clone())
                            .ok()?
                            .value(),
                    )
                }
                _ => None,
            })
            .collect()
    }

    /// The one function in `out`.
    fn the_fn(out: &TokenStream) -> ItemFn {
        let file: syn::File = syn::parse2(out.clone()).expect("expansion parses as items");
        let fns: Vec<ItemFn> = file
            .items
            .into_iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(fns.len(), 1, "one function in {out}");
        fns.into_iter().next().unwrap()
    }

    fn config(kind: Kind, args: &str) -> syn::Result<Config> {
        parse_config(kind, ts(args))
    }

    fn config_err(kind: Kind, args: &str) -> syn::Error {
        config(kind, args).expect_err("options are refused")
    }

    /// (line, column) where `err` points.
    fn at(err: &syn::Error) -> (usize, usize) {
        let start = err.span().start();
        (start.line, start.column)
    }

    // ---- options -------------------------------------------------------------------------

    #[test]
    fn defaults_per_kind() {
        assert_eq!(
            config(Kind::Main, "").unwrap(),
            Config {
                flavor: Flavor::MultiThread,
                worker_threads: None
            }
        );
        assert_eq!(
            config(Kind::Test, "").unwrap(),
            Config {
                flavor: Flavor::CurrentThread,
                worker_threads: None
            }
        );
    }

    #[test]
    fn flavor_and_worker_threads() {
        assert_eq!(
            config(Kind::Main, r#"flavor = "current_thread""#)
                .unwrap()
                .flavor,
            Flavor::CurrentThread
        );
        assert_eq!(
            config(
                Kind::Test,
                r#"flavor = "multi_thread", worker_threads = 3,"#
            )
            .unwrap(),
            Config {
                flavor: Flavor::MultiThread,
                worker_threads: Some(3)
            }
        );
        // Order does not matter, and main's default flavor takes worker_threads.
        assert_eq!(
            config(Kind::Main, r#"worker_threads = 2, flavor = "multi_thread""#)
                .unwrap()
                .worker_threads,
            Some(2)
        );
        assert_eq!(
            config(Kind::Main, "worker_threads = 4").unwrap(),
            Config {
                flavor: Flavor::MultiThread,
                worker_threads: Some(4)
            }
        );
    }

    #[test]
    fn unknown_option_points_at_its_name() {
        let err = config_err(Kind::Main, r#"flavor = "multi_thread", threads = 2"#);
        assert!(
            err.to_string().contains("unknown option `threads`"),
            "{err}"
        );
        assert_eq!(at(&err), (1, 25), "points at `threads`");

        let err = config_err(Kind::Test, "start_paused");
        assert!(
            err.to_string().contains("unknown option `start_paused`"),
            "{err}"
        );
        assert!(err.to_string().contains("#[corio::test]"), "{err}");
    }

    #[test]
    fn option_without_value() {
        let err = config_err(Kind::Main, "flavor");
        assert!(err.to_string().contains("`flavor` needs a value"), "{err}");
    }

    #[test]
    fn bad_flavor_points_at_the_string() {
        let err = config_err(Kind::Main, r#"flavor = "multi_threaded""#);
        assert!(
            err.to_string()
                .contains(r#"unknown runtime flavor "multi_threaded""#),
            "{err}"
        );
        assert_eq!(at(&err), (1, 9));

        let err = config_err(Kind::Main, "flavor = multi_thread");
        assert!(err.to_string().contains("`flavor` takes a string"), "{err}");
    }

    #[test]
    fn zero_worker_threads_is_refused() {
        let err = config_err(Kind::Main, "worker_threads = 0");
        assert_eq!(err.to_string(), "`worker_threads` must be at least 1");
        assert_eq!(at(&err), (1, 17));

        let err = config_err(Kind::Main, r#"worker_threads = "2""#);
        assert!(err.to_string().contains("integer literal"), "{err}");
        let err = config_err(Kind::Main, "worker_threads = -1");
        assert!(err.to_string().contains("positive integer"), "{err}");
        // A suffix is harmless: the generated code spells the number as a `usize`.
        assert_eq!(
            config(Kind::Main, "worker_threads = 2u8")
                .unwrap()
                .worker_threads,
            Some(2)
        );
    }

    #[test]
    fn worker_threads_needs_multi_thread() {
        let err = config_err(
            Kind::Main,
            r#"flavor = "current_thread", worker_threads = 2"#,
        );
        assert!(
            err.to_string().contains("needs the multi-thread flavor"),
            "{err}"
        );
        assert_eq!(at(&err), (1, 27));

        // A test defaults to current_thread, so it must ask for multi_thread.
        let err = config_err(Kind::Test, "worker_threads = 2");
        assert!(
            err.to_string().contains(r#"flavor = "multi_thread""#),
            "{err}"
        );
    }

    #[test]
    fn duplicate_options() {
        let err = config_err(
            Kind::Main,
            r#"flavor = "multi_thread", flavor = "current_thread""#,
        );
        assert!(err.to_string().contains("more than once"), "{err}");
        let err = config_err(Kind::Main, "worker_threads = 1, worker_threads = 2");
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn every_option_error_is_reported() {
        let out = expand(
            Kind::Main,
            ts(r#"flavor = "bogus", nope = 1, worker_threads = 0"#),
            ts("async fn main() {}"),
        );
        let errs = errors(&out);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("unknown runtime flavor"));
        assert!(errs[1].contains("unknown option `nope`"));
        assert!(errs[2].contains("at least 1"));
        // The function is still expanded, so the option errors are the only ones the user sees.
        assert!(the_fn(&out).sig.asyncness.is_none());
    }

    #[test]
    fn malformed_options() {
        let err = config_err(Kind::Main, "flavor = ");
        assert!(!err.to_string().is_empty());
    }

    // ---- expansion -----------------------------------------------------------------------

    #[test]
    fn main_defaults_to_multi_thread() {
        let out = expand(
            Kind::Main,
            ts(""),
            ts("async fn main() { println!(\"hi\"); }"),
        );
        assert!(errors(&out).is_empty());
        let f = the_fn(&out);
        assert!(f.sig.asyncness.is_none());
        assert_eq!(f.sig.ident, "main");
        assert!(f.attrs.is_empty());
        assert_eq!(
            compact(&f.block.to_token_stream()),
            compact(&ts(r#"{
                let body = async move { println!("hi"); };
                ::corio::runtime::Builder::new_multi_thread()
                    .build()
                    .expect("corio: failed to build the runtime")
                    .block_on(body)
            }"#))
        );
    }

    #[test]
    fn main_with_options() {
        let out = expand(
            Kind::Main,
            ts(r#"flavor = "multi_thread", worker_threads = 2"#),
            ts("async fn main() {}"),
        );
        let body = compact(&the_fn(&out).block.to_token_stream());
        assert!(
            body.contains("Builder::new_multi_thread().worker_threads(2usize).build()"),
            "{body}"
        );

        let out = expand(
            Kind::Main,
            ts(r#"flavor = "current_thread""#),
            ts("async fn main() {}"),
        );
        let body = compact(&the_fn(&out).block.to_token_stream());
        assert!(
            body.contains("::corio::runtime::Builder::new_current_thread().build()"),
            "{body}"
        );
        assert!(!body.contains("worker_threads"), "{body}");
    }

    #[test]
    fn result_return_type_is_kept_and_named() {
        let out = expand(
            Kind::Main,
            ts(""),
            ts(
                "async fn main() -> Result<(), Box<dyn std::error::Error>> { let n: u8 = \"1\".parse()?; Ok(()) }",
            ),
        );
        assert!(errors(&out).is_empty());
        let f = the_fn(&out);
        assert_eq!(
            compact(&f.sig.output.to_token_stream()),
            "->Result<(),Box<dynstd::error::Error>>"
        );
        let body = compact(&f.block.to_token_stream());
        assert!(
            body.contains(
                "letbody:::core::pin::Pin<&mutdyn::core::future::Future<Output=Result<(),Box<dynstd::error::Error>>>>=::core::pin::pin!(body);"
            ),
            "{body}"
        );
        assert!(body.ends_with(".block_on(body)}"), "{body}");
    }

    #[test]
    fn impl_trait_return_type_is_not_named() {
        let out = expand(
            Kind::Test,
            ts(""),
            ts("async fn t() -> impl std::process::Termination {}"),
        );
        let body = compact(&the_fn(&out).block.to_token_stream());
        assert!(!body.contains("Pin"), "{body}");
    }

    #[test]
    fn attributes_and_visibility_are_kept() {
        let out = expand(
            Kind::Main,
            ts(""),
            ts(
                "/// docs\n#[allow(unused_variables)] #[inline(never)] pub(crate) async fn run(x: u32) { let _ = x; }",
            ),
        );
        assert!(errors(&out).is_empty());
        let f = the_fn(&out);
        let attrs: Vec<String> = f
            .attrs
            .iter()
            .map(|a| compact(&a.to_token_stream()))
            .collect();
        assert_eq!(
            attrs,
            [
                "#[doc=\"docs\"]",
                "#[allow(unused_variables)]",
                "#[inline(never)]"
            ]
        );
        assert_eq!(compact(&f.vis.to_token_stream()), "pub(crate)");
        // A function other than `main` may take arguments; they move into the body.
        assert_eq!(f.sig.inputs.len(), 1);
        assert!(compact(&f.block.to_token_stream()).starts_with("{letbody=asyncmove{let_=x;};"));
    }

    #[test]
    fn test_adds_test_attribute_and_defaults_to_current_thread() {
        let out = expand(
            Kind::Test,
            ts(""),
            ts("#[ignore] async fn my_test() -> Result<(), String> { Ok(()) }"),
        );
        assert!(errors(&out).is_empty());
        let f = the_fn(&out);
        let attrs: Vec<String> = f
            .attrs
            .iter()
            .map(|a| compact(&a.to_token_stream()))
            .collect();
        assert_eq!(attrs, ["#[::core::prelude::v1::test]", "#[ignore]"]);
        assert!(f.sig.asyncness.is_none());
        let body = compact(&f.block.to_token_stream());
        assert!(
            body.contains("::corio::runtime::Builder::new_current_thread().build()"),
            "{body}"
        );
        assert!(body.contains("Output=Result<(),String>"), "{body}");
    }

    #[test]
    fn test_multi_thread() {
        let out = expand(
            Kind::Test,
            ts(r#"flavor = "multi_thread", worker_threads = 8"#),
            ts("async fn t() {}"),
        );
        let body = compact(&the_fn(&out).block.to_token_stream());
        assert!(
            body.contains("new_multi_thread().worker_threads(8usize)"),
            "{body}"
        );
    }

    // ---- refused functions ---------------------------------------------------------------

    #[test]
    fn non_async_fn_is_refused_and_left_alone() {
        let item = ts("fn main() {}");
        let out = expand(Kind::Main, ts(""), item.clone());
        let errs = errors(&out);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].contains("the `async` keyword is missing"),
            "{}",
            errs[0]
        );
        assert_eq!(compact(&the_fn(&out).to_token_stream()), compact(&item));

        let f: ItemFn = syn::parse2(ts("  fn t() {}")).unwrap();
        let err = check_fn(Kind::Test, &f).unwrap_err();
        assert_eq!(at(&err), (1, 2), "points at `fn`");
    }

    #[test]
    fn main_with_arguments_is_refused() {
        let f: ItemFn = syn::parse2(ts("async fn main(argc: i32) {}")).unwrap();
        let err = check_fn(Kind::Main, &f).unwrap_err();
        assert!(
            err.to_string().contains("`main` takes no arguments"),
            "{err}"
        );
        assert_eq!(at(&err), (1, 14), "points at the arguments");

        let out = expand(Kind::Main, ts(""), ts("async fn main(argc: i32) {}"));
        assert_eq!(errors(&out).len(), 1);
        assert!(the_fn(&out).sig.asyncness.is_some(), "emitted unchanged");
    }

    #[test]
    fn test_with_arguments_is_refused() {
        let out = expand(Kind::Test, ts(""), ts("async fn t(x: u8) {}"));
        assert_eq!(errors(&out), ["a test function takes no arguments"]);
    }

    #[test]
    fn second_test_attribute_is_refused() {
        let out = expand(Kind::Test, ts(""), ts("#[test] #[ignore] async fn t() {}"));
        let errs = errors(&out);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("remove this one"), "{}", errs[0]);
        // Expanded without the extra `#[test]`, so no follow-on error about async tests.
        let f = the_fn(&out);
        let attrs: Vec<String> = f
            .attrs
            .iter()
            .map(|a| compact(&a.to_token_stream()))
            .collect();
        assert_eq!(attrs, ["#[::core::prelude::v1::test]", "#[ignore]"]);

        let out = expand(
            Kind::Test,
            ts(""),
            ts("#[::core::prelude::v1::test] async fn t() {}"),
        );
        assert_eq!(errors(&out).len(), 1);
        // `#[test_case(..)]`-style attributes are someone else's business.
        let out = expand(Kind::Test, ts(""), ts("#[should_panic] async fn t() {}"));
        assert!(errors(&out).is_empty());
    }

    #[test]
    fn every_function_error_is_reported() {
        let out = expand(Kind::Test, ts("bogus = 1"), ts("fn t(x: u8) {}"));
        assert_eq!(errors(&out).len(), 3, "{:?}", errors(&out));
    }

    #[test]
    fn not_a_function() {
        let out = expand(Kind::Main, ts(""), ts("struct S;"));
        let errs = errors(&out);
        assert_eq!(errs, ["#[corio::main] goes on an `async fn`"]);
        assert!(compact(&out).starts_with("structS;"));
    }
}
