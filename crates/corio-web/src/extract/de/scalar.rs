//! Lax coercion of one input value to a scalar, as pydantic's lax mode does it: `"42"` is
//! an integer, `"yes"` a boolean, `1.0` an integer, `"1.5"` a float; anything else is the
//! matching [`ErrorKind`].

use serde_json::Value;

use crate::extract::validation::{ErrorKind, Number};

/// `value` as an integer within `min..=max` (the target type's range; outside it is a
/// `greater_than_equal`/`less_than_equal` error naming the bound).
pub(crate) fn to_int(value: &Value, min: i128, max: i128) -> Result<i128, ErrorKind> {
    let n = match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i128::from(i)
            } else if let Some(u) = n.as_u64() {
                i128::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || !f.is_finite() {
                    return Err(ErrorKind::IntFromFloat);
                }
                if f < min as f64 {
                    return Err(ErrorKind::GreaterThanEqual(Number::Int(min)));
                }
                if f > max as f64 {
                    return Err(ErrorKind::LessThanEqual(Number::Int(max)));
                }
                f as i128
            }
        }
        Value::String(s) => parse_int(s)?,
        Value::Bool(b) => i128::from(*b),
        _ => return Err(ErrorKind::IntType),
    };
    in_range(n, min, max)
}

/// `n` if it lies in `min..=max`, else the bound it breaks.
pub(crate) fn in_range(n: i128, min: i128, max: i128) -> Result<i128, ErrorKind> {
    if n < min {
        Err(ErrorKind::GreaterThanEqual(Number::Int(min)))
    } else if n > max {
        Err(ErrorKind::LessThanEqual(Number::Int(max)))
    } else {
        Ok(n)
    }
}

/// A string as an integer: surrounding whitespace, a sign, `_` between digits and a
/// fractional part of only zeros are allowed (as in pydantic). A number too large for any
/// integer type saturates, so the range check names the bound it broke.
pub(crate) fn parse_int(s: &str) -> Result<i128, ErrorKind> {
    let s = s.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = match digits.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int,
        Some(_) => return Err(ErrorKind::IntParsing),
        None => digits,
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return Err(ErrorKind::IntParsing);
    }
    let mut n: i128 = 0;
    let mut previous_underscore = false;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                previous_underscore = false;
                let digit = i128::from(b - b'0');
                n = n.saturating_mul(10);
                n = if negative {
                    n.saturating_sub(digit)
                } else {
                    n.saturating_add(digit)
                };
            }
            b'_' if !previous_underscore => previous_underscore = true,
            _ => return Err(ErrorKind::IntParsing),
        }
    }
    Ok(n)
}

/// `value` as a float.
pub(crate) fn to_float(value: &Value) -> Result<f64, ErrorKind> {
    match value {
        Value::Number(n) => n.as_f64().ok_or(ErrorKind::FloatType),
        Value::String(s) => parse_float(s),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        _ => Err(ErrorKind::FloatType),
    }
}

/// A string as a float; Rust's parser takes what Python's `float()` takes (`1e3`, `.5`,
/// `inf`, `nan`), save `_` separators.
pub(crate) fn parse_float(s: &str) -> Result<f64, ErrorKind> {
    s.trim().parse().map_err(|_| ErrorKind::FloatParsing)
}

/// `value` as a boolean: `true`/`false`, `0`/`1`, and the words pydantic knows.
pub(crate) fn to_bool(value: &Value) -> Result<bool, ErrorKind> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err(ErrorKind::BoolParsing),
        },
        Value::String(s) => parse_bool(s),
        _ => Err(ErrorKind::BoolType),
    }
}

/// A string as a boolean, case-insensitively.
pub(crate) fn parse_bool(s: &str) -> Result<bool, ErrorKind> {
    const TRUE: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
    const FALSE: [&str; 6] = ["0", "off", "f", "false", "n", "no"];
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Ok(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Ok(false)
    } else {
        Err(ErrorKind::BoolParsing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_from_strings() {
        assert_eq!(parse_int(" 42 "), Ok(42));
        assert_eq!(parse_int("-7"), Ok(-7));
        assert_eq!(parse_int("+1_000"), Ok(1000));
        assert_eq!(parse_int("3.00"), Ok(3));
        for bad in ["", "-", "foo", "1.5", "1__0", "_1", "1_", "0x10", "١"] {
            assert_eq!(parse_int(bad), Err(ErrorKind::IntParsing), "{bad:?}");
        }
    }

    #[test]
    fn integer_ranges_name_the_bound() {
        let (min, max) = (i128::from(u8::MIN), i128::from(u8::MAX));
        assert_eq!(to_int(&json!("255"), min, max), Ok(255));
        assert_eq!(
            to_int(&json!(256), min, max),
            Err(ErrorKind::LessThanEqual(Number::Int(255)))
        );
        assert_eq!(
            to_int(&json!("-1"), min, max),
            Err(ErrorKind::GreaterThanEqual(Number::Int(0)))
        );
        assert_eq!(
            to_int(
                &json!("99999999999999999999999999999999999999999"),
                min,
                max
            ),
            Err(ErrorKind::LessThanEqual(Number::Int(255)))
        );
        assert_eq!(to_int(&json!(2.0), min, max), Ok(2));
        assert_eq!(to_int(&json!(2.5), min, max), Err(ErrorKind::IntFromFloat));
        assert_eq!(to_int(&json!(null), min, max), Err(ErrorKind::IntType));
        assert_eq!(to_int(&json!(true), min, max), Ok(1));
    }

    #[test]
    fn floats_and_booleans() {
        assert_eq!(to_float(&json!("1.5")), Ok(1.5));
        assert_eq!(to_float(&json!(" 1e3")), Ok(1000.0));
        assert_eq!(to_float(&json!("x")), Err(ErrorKind::FloatParsing));
        assert_eq!(to_float(&json!([])), Err(ErrorKind::FloatType));
        assert_eq!(to_bool(&json!("YES")), Ok(true));
        assert_eq!(to_bool(&json!("off")), Ok(false));
        assert_eq!(to_bool(&json!(1)), Ok(true));
        assert_eq!(to_bool(&json!(2)), Err(ErrorKind::BoolParsing));
        assert_eq!(to_bool(&json!("maybe")), Err(ErrorKind::BoolParsing));
        assert_eq!(to_bool(&json!(null)), Err(ErrorKind::BoolType));
    }
}
