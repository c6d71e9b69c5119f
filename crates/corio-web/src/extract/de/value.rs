//! [`ValueDe`]: deserializes a `serde_json::Value` leniently, recording every wrong value at
//! its location and handing the visitor a [`Placeholder`] instead, so one pass finds every
//! error. [`MissingDe`] stands for a required field the input lacks.

use serde::de::{Deserializer, Visitor};
use serde_json::Value;

use super::access::{EnumAcc, MapAcc, SeqAcc, StructAcc, TupleAcc};
use super::context;
use super::error::Owner;
use super::placeholder::Placeholder;
use super::scalar;
use super::{DeError, Shape};
use crate::extract::validation::ErrorKind;

/// How a value is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A JSON value, or one string (a path parameter).
    Plain,
    /// The object of a key-value source (query, form, headers, cookies): each of its values
    /// is [`Mode::Multi`].
    KvRoot,
    /// The values one key had, as an array of strings: a scalar takes one of them (the last
    /// for a query or form, the first for a header, as Starlette does), a sequence all.
    Multi,
}

static NULL: Value = Value::Null;

#[derive(Clone, Copy)]
pub(crate) struct ValueDe<'a> {
    pub(crate) value: &'a Value,
    pub(crate) mode: Mode,
}

impl<'a> ValueDe<'a> {
    pub(crate) fn new(value: &'a Value, mode: Mode) -> ValueDe<'a> {
        ValueDe { value, mode }
    }

    /// The value a scalar is read from.
    fn scalar(&self) -> &'a Value {
        let value = self.pick();
        context::offer(value);
        value
    }

    fn pick(&self) -> &'a Value {
        match (self.mode, self.value) {
            (Mode::Multi, Value::Array(items)) => {
                let picked = if context::shape().pick_last() {
                    items.last()
                } else {
                    items.first()
                };
                picked.unwrap_or(&NULL)
            }
            (_, value) => value,
        }
    }

    /// The mode of this value's children.
    fn child_mode(&self) -> Mode {
        if self.mode == Mode::KvRoot {
            Mode::Multi
        } else {
            Mode::Plain
        }
    }
}

/// Records `kind` for `value` and lets the placeholder answer `$method`.
macro_rules! fail {
    ($kind:expr, $value:expr, $method:ident($($arg:expr),*)) => {{
        context::record($kind, $value.clone());
        Placeholder::TOP.$method($($arg),*)
    }};
}

macro_rules! int_method {
    ($($method:ident: $t:ty => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let value = self.scalar();
            match scalar::to_int(value, <$t>::MIN as i128, <$t>::MAX as i128) {
                // In range by construction, so the cast is exact.
                Ok(n) => visitor.$visit(n as $t),
                Err(kind) => fail!(kind, value, $method(visitor)),
            }
        }
    )*};
}

impl<'de, 'a: 'de> Deserializer<'de> for ValueDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(SeqAcc::new(items)),
            Value::Object(map) => visitor.visit_map(MapAcc::new(map, self.child_mode())),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let value = self.scalar();
        match scalar::to_bool(value) {
            Ok(b) => visitor.visit_bool(b),
            Err(kind) => fail!(kind, value, deserialize_bool(visitor)),
        }
    }

    int_method! {
        deserialize_i8: i8 => visit_i8,
        deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32,
        deserialize_i64: i64 => visit_i64,
        deserialize_i128: i128 => visit_i128,
        deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16,
        deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64,
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Values are checked as i128, so u128 tops out at i128::MAX here.
        let value = self.scalar();
        match scalar::to_int(value, 0, i128::MAX) {
            Ok(n) => visitor.visit_u128(n.unsigned_abs()),
            Err(kind) => fail!(kind, value, deserialize_u128(visitor)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let value = self.scalar();
        match scalar::to_float(value) {
            Ok(f) => visitor.visit_f32(f as f32),
            Err(kind) => fail!(kind, value, deserialize_f32(visitor)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let value = self.scalar();
        match scalar::to_float(value) {
            Ok(f) => visitor.visit_f64(f),
            Err(kind) => fail!(kind, value, deserialize_f64(visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let value = self.scalar();
        let Value::String(s) = value else {
            return fail!(ErrorKind::StringType, value, deserialize_char(visitor));
        };
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            (None, _) => fail!(
                ErrorKind::StringTooShort { min_length: 1 },
                value,
                deserialize_char(visitor)
            ),
            (Some(_), Some(_)) => fail!(
                ErrorKind::StringTooLong { max_length: 1 },
                value,
                deserialize_char(visitor)
            ),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Value::String(s) => visitor.visit_borrowed_str(s),
            other => fail!(ErrorKind::StringType, other, deserialize_str(visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Value::String(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            other => fail!(ErrorKind::BytesType, other, deserialize_bytes(visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match (self.mode, self.value) {
            (Mode::Plain, Value::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Value::Null => visitor.visit_unit(),
            other => fail!(ErrorKind::NoneRequired, other, deserialize_unit(visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        context::offer(self.value);
        match self.value {
            Value::Array(items) if self.mode != Mode::KvRoot => {
                visitor.visit_seq(SeqAcc::new(items))
            }
            other => fail!(ErrorKind::ListType, other, deserialize_seq(visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        context::offer(self.value);
        let Value::Array(items) = self.value else {
            return fail!(
                ErrorKind::TupleType,
                self.value,
                deserialize_tuple(len, visitor)
            );
        };
        let value = visitor.visit_seq(TupleAcc::new(items, len, self.value))?;
        if items.len() > len {
            context::record(
                ErrorKind::TooLong {
                    field_type: "Tuple",
                    max_length: len,
                    actual_length: items.len(),
                },
                self.value.clone(),
            );
        }
        Ok(value)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Value::Object(map) => visitor
                .visit_map(MapAcc::new(map, self.child_mode()))
                .map_err(|e| e.owned_by(Owner::Opaque)),
            other => fail!(ErrorKind::DictType, other, deserialize_map(visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let value = self.scalar();
        let Value::Object(map) = value else {
            return fail!(
                ErrorKind::ModelAttributesType,
                value,
                deserialize_struct(name, fields, visitor)
            );
        };
        let key = (name, fields);
        let (deny_unknown, inject) = context::struct_hints(key, map);
        let start = context::error_count();
        let access = StructAcc::new(map, value, fields, self.child_mode(), deny_unknown, inject);
        let result = visitor.visit_map(access);
        context::sort_struct_errors(start, fields);
        result.map_err(|e| e.owned_by(Owner::Type(key)))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let key = (name, variants);
        let value = self.scalar();
        let (variant, content) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((k, content)) => (k.as_str(), Some(content)),
                None => ("", None),
            },
            other => {
                return fail!(
                    ErrorKind::enum_of(variants),
                    other,
                    deserialize_enum(name, variants, visitor)
                );
            }
        };
        // Only enums that refused a variant in an earlier pass are checked up front: others
        // may take more than their variant names (`#[serde(other)]`, aliases).
        if context::strict_enum(key) && !variants.contains(&variant) {
            return fail!(
                ErrorKind::enum_of(variants),
                value,
                deserialize_enum(name, variants, visitor)
            );
        }
        visitor
            .visit_enum(EnumAcc::new(variant, content))
            .map_err(|e| e.owned_by(Owner::Type(key)))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// A required field the input lacks: records `missing` (echoing the object it is missing
/// from, for JSON, as pydantic does; `null` for strings-only sources) and answers with a
/// placeholder. An `Option` is simply `None`.
#[derive(Clone, Copy)]
pub(crate) struct MissingDe<'a> {
    pub(crate) parent: &'a Value,
}

impl MissingDe<'_> {
    fn record(&self) {
        let input = if context::shape() == Shape::Json {
            self.parent.clone()
        } else {
            Value::Null
        };
        context::record(ErrorKind::Missing, input);
    }
}

macro_rules! missing_forward {
    ($($method:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, DeError> {
            self.record();
            Placeholder::TOP.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for MissingDe<'_> {
    type Error = DeError;

    missing_forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_none()
    }
}
