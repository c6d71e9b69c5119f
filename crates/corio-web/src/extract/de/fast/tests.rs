//! The fast path against the collecting deserializer: over hand-written cases and a
//! generated corpus, whenever the fast path succeeds the slow one succeeds with an equal
//! value (compared by `Debug`, so that NaN equals NaN).

// The test types' fields are only read through `Debug`, which dead-code analysis ignores.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::from_pairs;
use crate::extract::de::{Shape, from_value};
use crate::extract::kv::multi_object;
use crate::extract::{
    Between, Constrained, ErrorKind, Length, Validate, Validated, ValidationErrors,
};

const HEADERS: Shape = Shape::Multi {
    pick_last: false,
    header_names: true,
};

/// Checks `query` read as `shape`; whether the fast path succeeded.
fn check_kv<T: DeserializeOwned + Debug>(query: &str, shape: Shape) -> bool {
    let pairs: Vec<(Cow<str>, Cow<str>)> = form_urlencoded::parse(query.as_bytes()).collect();
    let fast = from_pairs::<T, _>(&pairs, shape);
    let object = multi_object(form_urlencoded::parse(query.as_bytes()));
    let slow = from_value::<T>(&object, vec!["query".into()], shape);
    compare(&fast, &slow, query)
}

/// Checks path parameters `pairs`; whether the fast path succeeded.
fn check_path<T: DeserializeOwned + Debug>(pairs: &[(&str, &str)]) -> bool {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let fast = from_pairs::<T, _>(&owned, Shape::Path);
    // As `PathParams::to_value` builds it.
    let mut object = Map::new();
    for (k, v) in &owned {
        object.insert(k.clone(), Value::String(v.clone()));
    }
    let slow = from_value::<T>(&Value::Object(object), vec!["path".into()], Shape::Path);
    compare(&fast, &slow, &format!("{pairs:?}"))
}

fn compare<T: Debug>(
    fast: &Option<T>,
    slow: &Result<T, crate::extract::de::Failure>,
    input: &str,
) -> bool {
    let Some(fast) = fast else {
        return false;
    };
    match slow {
        Ok(slow) => assert_eq!(
            format!("{fast:?}"),
            format!("{slow:?}"),
            "fast and slow paths differ on {input:?} as {}",
            std::any::type_name::<T>()
        ),
        Err(failure) => panic!(
            "fast path succeeded with {fast:?} on {input:?} as {}, slow failed: {failure:?}",
            std::any::type_name::<T>()
        ),
    }
    true
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Scalars {
    a: Option<u8>,
    b: Option<i64>,
    c: Option<f64>,
    d: Option<bool>,
    e: Option<String>,
    f: Option<char>,
    g: Option<f32>,
    h: Option<u128>,
    i: Option<i8>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Required {
    a: u8,
    b: String,
    #[serde(default)]
    c: i64,
    v: Vec<u16>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Color {
    Red,
    Green,
    #[serde(rename = "b")]
    Blue,
    Other(Option<u8>),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Wrapper(u32);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WithEnum {
    a: Option<Color>,
    v: Vec<Color>,
    n: Option<Wrapper>,
    s: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Strict {
    a: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Aliased {
    #[serde(alias = "b")]
    a: Option<u8>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Flat {
    a: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Either {
    N(u32),
    S(String),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Odd {
    a: Option<Either>,
    t: Option<(u8, u8)>,
    u: Option<()>,
    b: Option<Vec<bool>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Constr {
    a: Option<Constrained<u32, Between<1, 10>>>,
    s: Option<Constrained<String, Length<2, 4>>>,
    v: Option<Constrained<Vec<u8>, Length<0, 2>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Range {
    a: u8,
    b: u8,
}

impl Validate for Range {
    fn validate(&self, errors: &mut ValidationErrors) {
        if self.b < self.a {
            errors.add(["b"], ErrorKind::value_error("b before a"), self.b.into());
        }
    }
}

/// Swallows its own error, as a default-on-error wrapper does: the slow path still
/// reports the bad value, so the fast path must not pass it.
#[derive(Debug, schemars::JsonSchema)]
struct Swallow(Option<u32>);

impl<'de> Deserialize<'de> for Swallow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Swallow, D::Error> {
        Ok(Swallow(u32::deserialize(d).ok()))
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Swallows {
    a: Option<Swallow>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct PathStruct {
    id: i64,
    name: String,
}

/// Every kv type, checked on `query` in both layouts; how many fast successes.
fn check_kv_all(query: &str) -> usize {
    let mut ok = 0;
    for shape in [Shape::QUERY, HEADERS] {
        ok += usize::from(check_kv::<Scalars>(query, shape));
        ok += usize::from(check_kv::<Required>(query, shape));
        ok += usize::from(check_kv::<WithEnum>(query, shape));
        ok += usize::from(check_kv::<Strict>(query, shape));
        ok += usize::from(check_kv::<Aliased>(query, shape));
        ok += usize::from(check_kv::<Flat>(query, shape));
        ok += usize::from(check_kv::<Odd>(query, shape));
        ok += usize::from(check_kv::<Constr>(query, shape));
        ok += usize::from(check_kv::<Validated<Range>>(query, shape));
        ok += usize::from(check_kv::<Swallows>(query, shape));
        ok += usize::from(check_kv::<Option<Scalars>>(query, shape));
        ok += usize::from(check_kv::<BTreeMap<String, Vec<String>>>(query, shape));
        ok += usize::from(check_kv::<u32>(query, shape));
    }
    ok
}

fn check_path_all(pairs: &[(&str, &str)]) -> usize {
    [
        check_path::<u32>(pairs),
        check_path::<u8>(pairs),
        check_path::<f64>(pairs),
        check_path::<bool>(pairs),
        check_path::<String>(pairs),
        check_path::<char>(pairs),
        check_path::<Option<i64>>(pairs),
        check_path::<(String, u8)>(pairs),
        check_path::<PathStruct>(pairs),
        check_path::<Vec<f64>>(pairs),
        check_path::<Color>(pairs),
        check_path::<Wrapper>(pairs),
        check_path::<Constrained<u32, Between<1, 10>>>(pairs),
        check_path::<Swallow>(pairs),
        check_path::<BTreeMap<String, String>>(pairs),
        check_path::<()>(pairs),
    ]
    .into_iter()
    .filter(|&ok| ok)
    .count()
}

#[test]
fn hand_written_successes_take_the_fast_path() {
    let fast = |query: &str| check_kv::<Scalars>(query, Shape::QUERY);
    assert!(fast(""));
    assert!(fast(
        "a=42&b=-7&c=1e3&d=yes&e=caf%C3%A9&f=x&g=.5&h=1_000&i=%2B5"
    ));
    assert!(fast("a=+42+&d=ON&d=off&c=NaN&c=inf"));
    assert!(fast("e=&e=a+b&zz=1"));
    assert!(check_kv::<Required>("a=1&b=&v=1&v=2&v=3", Shape::QUERY));
    assert!(check_kv::<Required>("a=3.00&b=x&c=9&v=7", HEADERS));
    assert!(check_kv::<WithEnum>(
        "a=red&v=b&v=green&n=5&s=x&s=y",
        Shape::QUERY
    ));
    assert!(check_kv::<Aliased>("b=3", Shape::QUERY));
    assert!(check_kv::<Constr>("a=10&s=abcd&v=1&v=2", Shape::QUERY));
    assert!(check_kv::<Validated<Range>>("a=1&b=2", Shape::QUERY));
    assert!(check_kv::<Swallows>("a=1", Shape::QUERY));
    assert!(check_path::<u32>(&[("item_id", "42")]));
    assert!(check_path::<(String, u8)>(&[("user", "ann"), ("n", "255")]));
    assert!(check_path::<PathStruct>(&[("name", "ann"), ("id", "-1")]));
    assert!(check_path::<Option<i64>>(&[("id", " 9 ")]));
    assert!(check_path::<Color>(&[("c", "green")]));
}

#[test]
fn failures_fall_back() {
    let slow = |query: &str| !check_kv::<Scalars>(query, Shape::QUERY);
    for query in [
        "a=256", "a=-1", "b=1.5", "c=x", "d=maybe", "f=", "f=ab", "a=",
    ] {
        assert!(slow(query), "{query}");
    }
    // Missing, unknown, constraint-breaking, swallowed, unsupported.
    assert!(!check_kv::<Required>("b=x&v=1", Shape::QUERY));
    assert!(!check_kv::<Strict>("a=1&zz=2", Shape::QUERY));
    assert!(!check_kv::<Aliased>("a=1&b=2", Shape::QUERY));
    assert!(!check_kv::<Constr>("a=11", Shape::QUERY));
    assert!(!check_kv::<Constr>("s=a", Shape::QUERY));
    assert!(!check_kv::<Constr>("v=1&v=2&v=3", Shape::QUERY));
    assert!(!check_kv::<Validated<Range>>("a=2&b=1", Shape::QUERY));
    assert!(!check_kv::<Swallows>("a=x", Shape::QUERY));
    assert!(!check_kv::<Flat>("a=1&b=2", Shape::QUERY));
    assert!(!check_kv::<Odd>("t=1&t=2", Shape::QUERY));
    assert!(!check_path::<u32>(&[]));
    assert!(!check_path::<u32>(&[("a", "1"), ("b", "2")]));
    assert!(!check_path::<(u32, u32)>(&[("a", "1")]));
    assert!(!check_path::<PathStruct>(&[
        ("id", "1"),
        ("id", "2"),
        ("name", "x")
    ]));
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "v", "n", "s", "t", "u", "zz", "A", "id", "name",
];

/// Raw (still percent-encoded) values for a query; decoded, they are path values too.
const VALUES: &[&str] = &[
    "42",
    "%2042",
    "+42+",
    "%2B5",
    "+5",
    "-5",
    "1e3",
    "",
    "yes",
    "YES",
    "no",
    "on",
    "off",
    "t",
    "f",
    "y",
    "n",
    "1",
    "0",
    "2",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1.5",
    "3.00",
    "3.01",
    "1_000",
    "1__0",
    "_1",
    "255",
    "256",
    "-128",
    "-129",
    "340282366920938463463374607431768211455",
    "18446744073709551616",
    "1e400",
    ".5",
    "5.",
    "x",
    "ab",
    "abcd",
    "abcde",
    "caf%C3%A9",
    "%F0%9F%A6%80",
    "%FF",
    "%E2%80%8B",
    "a+b",
    "red",
    "green",
    "b",
    "Red",
    "blue",
    "other",
    "true",
    "False",
    "null",
    "%34%32",
    "%00",
    "%",
    "%2",
    "\u{0661}",
    "0x10",
];

#[test]
fn generated_queries_agree() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut fast = 0;
    for _ in 0..4000 {
        let n = rng.next() % 6;
        let mut query = String::new();
        for i in 0..n {
            if i > 0 {
                query.push('&');
            }
            query.push_str(rng.pick(KEYS));
            if !rng.next().is_multiple_of(8) {
                query.push('=');
                query.push_str(rng.pick(VALUES));
            }
        }
        fast += check_kv_all(&query);
    }
    // Not a vacuous pass: many generated inputs are valid for some type.
    assert!(fast > 4000, "only {fast} fast successes");
}

#[test]
fn generated_path_params_agree() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let decoded: Vec<String> = VALUES
        .iter()
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let values: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let mut fast = 0;
    for _ in 0..4000 {
        let n = rng.next() % 4;
        let pairs: Vec<(&str, &str)> = (0..n)
            .map(|_| (rng.pick(KEYS), rng.pick(&values)))
            .collect();
        fast += check_path_all(&pairs);
    }
    assert!(fast > 2000, "only {fast} fast successes");
}
