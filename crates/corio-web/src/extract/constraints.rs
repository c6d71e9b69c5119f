//! Constraints declared once, on the type: [`Constrained<T, C>`](Constrained) checks `T`
//! against the [`Constraints`] of the marker type `C` (pydantic's `Field(ge=0, le=100)`),
//! and the same `C::constraints()` is there for the OpenAPI schema to read.
//!
//! ```
//! use corio_web::extract::{Between, Constrained, Length, Query};
//! use serde::Deserialize;
//!
//! corio_web::constraint! {
//!     /// A username: 3 to 20 word characters.
//!     pub Username: min_length(3), max_length(20), pattern("^\\w+$");
//! }
//!
//! #[derive(Debug, Deserialize, schemars::JsonSchema)]
//! struct Search {
//!     user: Constrained<String, Username>,
//!     limit: Constrained<u32, Between<1, 100>>,
//!     tags: Constrained<Vec<String>, Length<0, 5>>,
//! }
//!
//! let uri = "/?user=ab&limit=500&tags=a".parse().unwrap();
//! let errors = Query::<Search>::try_from_uri(&uri).unwrap_err();
//! let types: Vec<_> = errors.errors().iter().map(|e| e.type_.as_ref()).collect();
//! assert_eq!(types, ["string_too_short", "less_than_equal"]);
//! ```
//!
//! Checks that are not a constraint (one field against another, a lookup) go in a
//! [`Validate`] impl, used through [`Validated<T>`](Validated). Both report through the
//! extractors' error collection, so a request with several bad values gets all of them in
//! one 422; used with plain serde (outside an extractor) they fail like any `Deserialize`.
//!
//! Own types check themselves the same way with [`deserialize_checked`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, RwLock};

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::de::context;
use super::validation::{ErrorKind, LocPart, Number};

/// The constraints on a value: numeric bounds, lengths, a pattern. Built with the methods
/// (`Constraints::new().ge(0).le(100)`); the fields are public for schema generators.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Constraints {
    /// `gt`: strictly greater than.
    pub gt: Option<Number>,
    /// `ge`: greater than or equal to.
    pub ge: Option<Number>,
    /// `lt`: strictly less than.
    pub lt: Option<Number>,
    /// `le`: less than or equal to.
    pub le: Option<Number>,
    /// `multiple_of`.
    pub multiple_of: Option<Number>,
    /// The least length: characters of a string, items of a list.
    pub min_length: Option<usize>,
    /// The most length.
    pub max_length: Option<usize>,
    /// A regular expression the string must contain a match of (anchor it with `^...$` for
    /// a whole-string match, as in pydantic); the `regex` crate's syntax, as pydantic's.
    pub pattern: Option<Cow<'static, str>>,
}

impl Constraints {
    /// No constraints.
    pub fn new() -> Constraints {
        Constraints::default()
    }

    /// Adds `gt`.
    pub fn gt(mut self, n: impl Into<Number>) -> Constraints {
        self.gt = Some(n.into());
        self
    }

    /// Adds `ge`.
    pub fn ge(mut self, n: impl Into<Number>) -> Constraints {
        self.ge = Some(n.into());
        self
    }

    /// Adds `lt`.
    pub fn lt(mut self, n: impl Into<Number>) -> Constraints {
        self.lt = Some(n.into());
        self
    }

    /// Adds `le`.
    pub fn le(mut self, n: impl Into<Number>) -> Constraints {
        self.le = Some(n.into());
        self
    }

    /// Adds `multiple_of`.
    pub fn multiple_of(mut self, n: impl Into<Number>) -> Constraints {
        self.multiple_of = Some(n.into());
        self
    }

    /// Adds `min_length`.
    pub fn min_length(mut self, n: usize) -> Constraints {
        self.min_length = Some(n);
        self
    }

    /// Adds `max_length`.
    pub fn max_length(mut self, n: usize) -> Constraints {
        self.max_length = Some(n);
        self
    }

    /// Adds `pattern`.
    pub fn pattern(mut self, pattern: impl Into<Cow<'static, str>>) -> Constraints {
        self.pattern = Some(pattern.into());
        self
    }

    /// Writes the constraints into `schema` as JSON Schema keywords: bounds as
    /// `minimum`/`exclusiveMaximum`/..., lengths as `minLength` for strings, `minItems` for
    /// arrays, `minProperties` for objects, and the `pattern`.
    pub fn write_schema(&self, schema: &mut schemars::Schema) {
        let number = |n: Number| match n {
            Number::Int(i) => i64::try_from(i)
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(i as f64)),
            Number::Float(f) => Value::from(f),
        };
        let kind = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let (min_key, max_key) = match kind.as_str() {
            "array" => ("minItems", "maxItems"),
            "object" => ("minProperties", "maxProperties"),
            _ => ("minLength", "maxLength"),
        };
        let keywords = [
            ("exclusiveMinimum", self.gt.map(number)),
            ("minimum", self.ge.map(number)),
            ("exclusiveMaximum", self.lt.map(number)),
            ("maximum", self.le.map(number)),
            ("multipleOf", self.multiple_of.map(number)),
            (min_key, self.min_length.map(Value::from)),
            (max_key, self.max_length.map(Value::from)),
            ("pattern", self.pattern.as_deref().map(Value::from)),
        ];
        for (key, value) in keywords {
            if let Some(value) = value {
                schema.insert(key.to_string(), value);
            }
        }
    }

    /// Checks that the pattern, if any, is a valid regular expression (a test or start-up
    /// check; at request time an invalid pattern rejects every value).
    pub fn check_pattern(&self) -> Result<(), regex::Error> {
        match &self.pattern {
            Some(pattern) => Regex::new(pattern).map(drop),
            None => Ok(()),
        }
    }

    /// The first bound `n` breaks, in pydantic's order.
    pub fn check_number(&self, n: Number) -> Option<ErrorKind> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cmp = |a: Number, b: Number| match (a, b) {
            (Number::Int(a), Number::Int(b)) => a.partial_cmp(&b),
            _ => a.as_f64().partial_cmp(&b.as_f64()),
        };
        if let Some(m) = self.multiple_of {
            let ok = match (n, m) {
                (Number::Int(_), Number::Int(0)) => false,
                // Wrapping: `i128::MIN % -1` overflows, and is 0.
                (Number::Int(n), Number::Int(m)) => n.wrapping_rem(m) == 0,
                _ => {
                    let q = n.as_f64() / m.as_f64();
                    q.is_finite() && (q - q.round()).abs() < 1e-9
                }
            };
            if !ok {
                return Some(ErrorKind::MultipleOf(m));
            }
        }
        // NaN compares as nothing, so it breaks every bound, as in pydantic.
        if let Some(le) = self
            .le
            .filter(|&le| !matches!(cmp(n, le), Some(Less | Equal)))
        {
            return Some(ErrorKind::LessThanEqual(le));
        }
        if let Some(lt) = self.lt.filter(|&lt| cmp(n, lt) != Some(Less)) {
            return Some(ErrorKind::LessThan(lt));
        }
        if let Some(ge) = self
            .ge
            .filter(|&ge| !matches!(cmp(n, ge), Some(Greater | Equal)))
        {
            return Some(ErrorKind::GreaterThanEqual(ge));
        }
        if let Some(gt) = self.gt.filter(|&gt| cmp(n, gt) != Some(Greater)) {
            return Some(ErrorKind::GreaterThan(gt));
        }
        None
    }

    /// The first constraint the string `s` breaks: length (in characters), then pattern.
    pub fn check_str(&self, s: &str) -> Option<ErrorKind> {
        if self.min_length.is_some() || self.max_length.is_some() {
            let len = s.chars().count();
            if let Some(min_length) = self.min_length.filter(|min| len < *min) {
                return Some(ErrorKind::StringTooShort { min_length });
            }
            if let Some(max_length) = self.max_length.filter(|max| len > *max) {
                return Some(ErrorKind::StringTooLong { max_length });
            }
        }
        if let Some(pattern) = &self.pattern
            && !pattern_matches(pattern, s)
        {
            return Some(ErrorKind::StringPatternMismatch {
                pattern: pattern.clone(),
            });
        }
        None
    }

    /// The first length constraint a collection of `len` items breaks.
    pub fn check_len(&self, field_type: &'static str, len: usize) -> Option<ErrorKind> {
        if let Some(min_length) = self.min_length.filter(|min| len < *min) {
            return Some(ErrorKind::TooShort {
                field_type,
                min_length,
                actual_length: len,
            });
        }
        if let Some(max_length) = self.max_length.filter(|max| len > *max) {
            return Some(ErrorKind::TooLong {
                field_type,
                max_length,
                actual_length: len,
            });
        }
        None
    }
}

/// Whether `s` contains a match of `pattern`. Compiled patterns are cached (there are as
/// many as the program declares); an invalid one matches nothing, so it fails closed.
///
/// The cache hands out `Arc<Regex>`, not `Regex` clones: a cloned `Regex` starts with an
/// empty pool of matching caches and builds a new one on its first match, which made
/// every check allocate. Looking a pattern up by `&str` under a read lock allocates
/// nothing and lets threads check at once.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    type Cache = RwLock<HashMap<String, Option<Arc<Regex>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(pattern)
        .cloned();
    let regex = match cached {
        Some(regex) => regex,
        None => cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(pattern.to_owned())
            .or_insert_with(|| match Regex::new(pattern) {
                Ok(regex) => Some(Arc::new(regex)),
                Err(e) => {
                    tracing::error!(pattern, error = %e, "invalid constraint pattern");
                    None
                }
            })
            .clone(),
    };
    regex.is_some_and(|regex| regex.is_match(s))
}

/// A marker type that carries constraints, for [`Constrained`]. Define one with
/// [`constraint!`](crate::constraint), or use [`Between`] and [`Length`].
pub trait Constraint: 'static {
    /// The constraints.
    fn constraints() -> Constraints;
}

/// `ge = GE, le = LE`: an inclusive integer range.
#[derive(Clone, Copy, Debug)]
pub struct Between<const GE: i64, const LE: i64>;

impl<const GE: i64, const LE: i64> Constraint for Between<GE, LE> {
    fn constraints() -> Constraints {
        Constraints::new().ge(GE).le(LE)
    }
}

/// `min_length = MIN, max_length = MAX`: characters of a string, items of a list.
#[derive(Clone, Copy, Debug)]
pub struct Length<const MIN: usize, const MAX: usize>;

impl<const MIN: usize, const MAX: usize> Constraint for Length<MIN, MAX> {
    fn constraints() -> Constraints {
        Constraints::new().min_length(MIN).max_length(MAX)
    }
}

/// Defines marker types for [`Constrained`]: a name, then [`Constraints`] builder calls.
///
/// ```
/// use corio_web::extract::{Constraint, Number};
///
/// corio_web::constraint! {
///     /// A price: positive, at most a million.
///     pub Price: gt(0), le(1_000_000.0);
///     /// A product code.
///     pub Code: pattern("^[A-Z]{3}-\\d{4}$");
/// }
///
/// assert_eq!(Price::constraints().gt, Some(Number::Int(0)));
/// assert!(Code::constraints().check_str("ABC-1234").is_none());
/// ```
#[macro_export]
macro_rules! constraint {
    ($($(#[$meta:meta])* $vis:vis $name:ident: $($method:ident($($arg:expr),*)),+;)+) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;

        impl $crate::extract::Constraint for $name {
            fn constraints() -> $crate::extract::Constraints {
                $crate::extract::Constraints::new()$(.$method($($arg),*))+
            }
        }
    )+};
}

/// A value that [`Constraints`] can check.
pub trait Constrainable {
    /// The first constraint `self` breaks.
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind>;
}

macro_rules! constrainable_number {
    ($($t:ty),*) => {$(
        impl Constrainable for $t {
            fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
                constraints.check_number(Number::from(*self))
            }
        }
    )*};
}
constrainable_number!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize, f32, f64
);

impl Constrainable for String {
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
        constraints.check_str(self)
    }
}

impl Constrainable for Box<str> {
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
        constraints.check_str(self)
    }
}

impl<T: Constrainable> Constrainable for Vec<T> {
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
        constraints.check_len("List", self.len())
    }
}

/// `None` passes: the constraints apply to a value that is there.
impl<T: Constrainable> Constrainable for Option<T> {
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
        self.as_ref().and_then(|v| v.check(constraints))
    }
}

/// A value constrained already is checked as its `T`, so constraints nest: a list of at
/// most 10 tags of 1 to 32 characters each is
/// `Constrained<Vec<Constrained<String, Tag>>, Length<0, 10>>` (pydantic's
/// `Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=10)]`).
///
/// ```
/// use corio_web::extract::{Constrained, Length};
///
/// type Tags = Constrained<Vec<Constrained<String, Length<1, 32>>>, Length<0, 2>>;
/// assert!(serde_json::from_str::<Tags>(r#"["a", "b"]"#).is_ok());
/// let too_many = serde_json::from_str::<Tags>(r#"["a", "b", "c"]"#).unwrap_err();
/// assert!(too_many.to_string().contains("List should have at most 2 items"));
/// let empty_tag = serde_json::from_str::<Tags>(r#"["a", ""]"#).unwrap_err();
/// assert!(empty_tag.to_string().contains("String should have at least 1 character"));
/// ```
impl<T: Constrainable, C> Constrainable for Constrained<T, C> {
    fn check(&self, constraints: &Constraints) -> Option<ErrorKind> {
        self.value.check(constraints)
    }
}

/// A `T` that meets the constraints of `C`, checked when it is deserialized.
///
/// In an extractor, a value that breaks them is reported (`less_than_equal`,
/// `string_too_short`, ...) with the request's other errors; elsewhere deserialization
/// fails with the message. Derefs to `T`; serializes as `T`.
///
/// ```
/// use corio_web::extract::{Between, Constrained};
///
/// let ok: Constrained<i64, Between<0, 10>> = serde_json::from_str("7").unwrap();
/// assert_eq!(*ok, 7);
/// let err = serde_json::from_str::<Constrained<i64, Between<0, 10>>>("11").unwrap_err();
/// assert!(err.to_string().contains("Input should be less than or equal to 10"));
/// ```
pub struct Constrained<T, C> {
    value: T,
    _constraint: PhantomData<fn() -> C>,
}

impl<T, C: Constraint> Constrained<T, C> {
    /// `value`, if it meets the constraints.
    pub fn new(value: T) -> Result<Constrained<T, C>, ErrorKind>
    where
        T: Constrainable,
    {
        match value.check(&C::constraints()) {
            Some(kind) => Err(kind),
            None => Ok(Constrained {
                value,
                _constraint: PhantomData,
            }),
        }
    }

    /// The constraints values of this type meet.
    pub fn constraints() -> Constraints {
        C::constraints()
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

/// `T`'s default, unchecked, as pydantic does not validate a field's default either: so
/// `#[serde(default)]` works on a constrained field (FastAPI's
/// `Query(default=[], max_length=3)`), and the default is the author's to keep valid.
///
/// ```
/// use corio_web::extract::{Constrained, Length, Query};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, schemars::JsonSchema)]
/// struct Tags {
///     #[serde(default)]
///     tag: Constrained<Vec<String>, Length<0, 3>>,
/// }
///
/// let none = Query::<Tags>::try_from_uri(&"/".parse().unwrap()).unwrap();
/// assert!(none.tag.is_empty());
/// let many = "/?tag=a&tag=b&tag=c&tag=d".parse().unwrap();
/// assert!(Query::<Tags>::try_from_uri(&many).is_err());
/// ```
impl<T: Default, C> Default for Constrained<T, C> {
    fn default() -> Constrained<T, C> {
        Constrained {
            value: T::default(),
            _constraint: PhantomData,
        }
    }
}

/// `T`'s schema with the constraints as JSON Schema keywords (`minimum`, `maxLength`,
/// `pattern`, ...), so the OpenAPI document states them. The schema is `T`'s, inline.
impl<T: schemars::JsonSchema, C: Constraint> schemars::JsonSchema for Constrained<T, C> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = generator.subschema_for::<T>();
        C::constraints().write_schema(&mut schema);
        schema
    }
}

impl<T, C> Deref for Constrained<T, C> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Clone, C> Clone for Constrained<T, C> {
    fn clone(&self) -> Self {
        Constrained {
            value: self.value.clone(),
            _constraint: PhantomData,
        }
    }
}

impl<T: fmt::Debug, C> fmt::Debug for Constrained<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: fmt::Display, C> fmt::Display for Constrained<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq, C> PartialEq for Constrained<T, C> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Serialize, C> Serialize for Constrained<T, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T, C> Deserialize<'de> for Constrained<T, C>
where
    T: Deserialize<'de> + Constrainable,
    C: Constraint,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserialize_checked(deserializer, |value: &T| value.check(&C::constraints()))?;
        Ok(Constrained {
            value,
            _constraint: PhantomData,
        })
    }
}

/// Deserializes a `T` and checks it, for `Deserialize` impls of types with rules of their
/// own: the error `check` returns is reported as [`Constrained`] reports its own.
///
/// Inside an extractor, the error is recorded at the value's location, echoing the input
/// as the client sent it, and extraction goes on to find the request's other errors (the
/// value returned is then never used). Outside one, it is the deserialization error. A
/// value that was already wrong (not a number at all, say) is not checked.
///
/// ```
/// use corio_web::extract::{deserialize_checked, ErrorKind, Query};
/// use serde::{Deserialize, Deserializer};
///
/// /// An even number.
/// #[derive(Debug)]
/// struct Even(u32);
///
/// impl<'de> Deserialize<'de> for Even {
///     fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Even, D::Error> {
///         deserialize_checked(d, |n: &u32| {
///             (n % 2 == 1).then(|| ErrorKind::value_error("must be even"))
///         })
///         .map(Even)
///     }
/// }
///
/// #[derive(Debug, Deserialize)]
/// struct Pair { a: Even, b: Even }
///
/// let errors = Query::<Pair>::try_from_uri(&"/?a=1&b=x3".parse().unwrap()).unwrap_err();
/// let errors = errors.errors();
/// assert_eq!((errors[0].msg.as_str(), &errors[0].input), ("Value error, must be even", &"1".into()));
/// assert_eq!(errors[1].type_, "int_parsing");
/// assert!(serde_json::from_str::<Even>("3").is_err());
/// ```
pub fn deserialize_checked<'de, T, D, F>(deserializer: D, check: F) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
    F: FnOnce(&T) -> Option<ErrorKind>,
{
    context::capture_begin();
    let before = context::error_count();
    let value = T::deserialize(deserializer);
    let captured = context::capture_end();
    let value = value?;
    // A value that was already wrong is a placeholder: its rules say nothing.
    if context::error_count() != before {
        return Ok(value);
    }
    if let Some(kind) = check(&value) {
        match captured {
            Some((input, loc)) => {
                if !context::report_captured(loc, kind.clone(), input) {
                    return Err(serde::de::Error::custom(kind.message()));
                }
            }
            None => report_invalid::<D::Error>(kind, Value::Null)?,
        }
    }
    Ok(value)
}

/// Reports that the value being deserialized is invalid, from a `Deserialize` impl, at the
/// current location plus nothing (prefer [`deserialize_checked`], which also knows the
/// input as sent and where the value started).
///
/// Inside an extractor the error is recorded and `Ok(())` comes back: return the value you
/// have (the request is answered with a 422 anyway) and extraction goes on. Outside one,
/// this is `Err(E::custom(msg))`.
///
/// ```
/// use corio_web::extract::{report_invalid, ErrorKind};
///
/// let outside = report_invalid::<serde_json::Error>(ErrorKind::value_error("nope"), 1.into());
/// assert_eq!(outside.unwrap_err().to_string(), "Value error, nope");
/// ```
pub fn report_invalid<E: serde::de::Error>(kind: ErrorKind, input: Value) -> Result<(), E> {
    report_at::<E>(&[], kind, input)
}

fn report_at<E: serde::de::Error>(
    relative: &[LocPart],
    kind: ErrorKind,
    input: Value,
) -> Result<(), E> {
    if context::active() && context::report(relative, kind.clone(), input) {
        Ok(())
    } else {
        Err(E::custom(kind.message()))
    }
}

/// Checks a value beyond what its type and constraints say: one field against another, a
/// lookup. Use it through [`Validated<T>`](Validated).
///
/// ```
/// use corio_web::extract::{ErrorKind, Query, Validate, Validated, ValidationErrors};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, schemars::JsonSchema)]
/// struct Range { start: u32, end: u32 }
///
/// impl Validate for Range {
///     fn validate(&self, errors: &mut ValidationErrors) {
///         if self.end < self.start {
///             errors.add(["end"], ErrorKind::value_error("end must not be before start"),
///                 self.end.into());
///         }
///     }
/// }
///
/// let errors = Query::<Validated<Range>>::try_from_uri(&"/?start=5&end=2".parse().unwrap())
///     .unwrap_err();
/// let error = &errors.errors()[0];
/// assert_eq!(serde_json::to_value(&error.loc).unwrap(), serde_json::json!(["query", "end"]));
/// assert_eq!(error.msg, "Value error, end must not be before start");
/// ```
pub trait Validate {
    /// Adds an error to `errors` for each problem.
    fn validate(&self, errors: &mut ValidationErrors);
}

/// The errors a [`Validate`] impl finds, each at a location relative to the value.
#[derive(Debug, Default)]
pub struct ValidationErrors {
    errors: Vec<(Vec<LocPart>, ErrorKind, Value)>,
}

impl ValidationErrors {
    /// Adds `kind` at `loc` (relative: `["end"]`, `["items", 0]`, or `[]` for the value
    /// itself), with `input` the offending value.
    pub fn add<L>(&mut self, loc: L, kind: ErrorKind, input: Value)
    where
        L: IntoIterator,
        L::Item: Into<LocPart>,
    {
        self.errors
            .push((loc.into_iter().map(Into::into).collect(), kind, input));
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// A `T` that passed its [`Validate`] check after deserializing. Derefs to `T`.
pub struct Validated<T>(T);

/// `T`'s schema: the checks of a `Validate` impl are code, not keywords.
impl<T: schemars::JsonSchema> schemars::JsonSchema for Validated<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

impl<T> Validated<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Validated<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Validated<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de, T: Deserialize<'de> + Validate> Deserialize<'de> for Validated<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let before = context::error_count();
        let value = T::deserialize(deserializer)?;
        // A value whose fields were already wrong is made of placeholders: checking it
        // would only report noise.
        if context::error_count() == before {
            let mut errors = ValidationErrors::default();
            value.validate(&mut errors);
            for (loc, kind, input) in errors.errors {
                report_at::<D::Error>(&loc, kind, input)?;
            }
        }
        Ok(Validated(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `i128::MIN % -1` overflows (and panics in every build): a client could send that
    /// value to a `Constrained<i128, _>` with `multiple_of(-1)`.
    #[test]
    fn multiple_of_minus_one_does_not_overflow() {
        let constraints = Constraints::new().multiple_of(-1);
        assert_eq!(constraints.check_number(Number::Int(i128::MIN)), None);
        assert_eq!(constraints.check_number(Number::Int(7)), None);
        let threes = Constraints::new().multiple_of(3);
        assert_eq!(
            threes.check_number(Number::Int(i128::MIN)),
            Some(ErrorKind::MultipleOf(Number::Int(3)))
        );
        assert_eq!(threes.check_number(Number::Int(-9)), None);
    }
}
