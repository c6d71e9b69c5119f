//! The serde access types the collecting deserializer hands visitors: struct fields, map
//! entries, sequence items, tuple positions and enum variants. Each one pushes the child's
//! location before handing the child over and pops it after, and gives a custom error that
//! comes back the child's location and input.

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
    value::BorrowedStrDeserializer,
};
use serde_json::{Map, Value};

use super::DeError;
use super::context;
use super::placeholder::Placeholder;
use super::scalar;
use super::value::{MissingDe, Mode, ValueDe};
use crate::extract::validation::{ErrorKind, LocPart};

/// Deserializes one child at `part`: pushes the location, runs `f`, pops it; a custom
/// error that comes back without a location gets this one and `input`.
fn within<R>(
    part: LocPart,
    input: &Value,
    f: impl FnOnce() -> Result<R, DeError>,
) -> Result<R, DeError> {
    if context::full() {
        return Err(DeError::TooMany);
    }
    context::push(part);
    let result = f().map_err(|e| e.located(|| input.clone()));
    context::pop();
    result
}

/// The value a key-value source echoes for an entry: the one its scalar would read.
fn echo(value: &Value, mode: Mode) -> Value {
    match (mode, value) {
        (Mode::Multi, Value::Array(items)) => {
            let picked = if context::shape().pick_last() {
                items.last()
            } else {
                items.first()
            };
            picked.cloned().unwrap_or(Value::Null)
        }
        _ => value.clone(),
    }
}

enum Next<'a> {
    Value(LocPart, &'a Value),
    Missing(LocPart),
}

/// The fields of a struct: the input's entries, then the required fields it lacks (those
/// an earlier pass learned are required), as missing.
pub(crate) struct StructAcc<'a> {
    entries: serde_json::map::Iter<'a>,
    parent: &'a Value,
    fields: &'static [&'static str],
    mode: Mode,
    deny_unknown: bool,
    inject: std::vec::IntoIter<&'static str>,
    next: Option<Next<'a>>,
}

impl<'a> StructAcc<'a> {
    pub(crate) fn new(
        object: &'a Map<String, Value>,
        parent: &'a Value,
        fields: &'static [&'static str],
        mode: Mode,
        deny_unknown: bool,
        inject: Vec<&'static str>,
    ) -> StructAcc<'a> {
        StructAcc {
            entries: object.iter(),
            parent,
            fields,
            mode,
            deny_unknown,
            inject: inject.into_iter(),
            next: None,
        }
    }
}

impl<'de, 'a: 'de> MapAccess<'de> for StructAcc<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for (key, value) in self.entries.by_ref() {
            let field = self.fields.iter().copied().find(|f| f == key);
            if field.is_none() && self.deny_unknown {
                let part = context::key_part(key, None);
                context::record_child([part], ErrorKind::ExtraForbidden, echo(value, self.mode));
                continue;
            }
            self.next = Some(Next::Value(context::key_part(key, field), value));
            return seed
                .deserialize(BorrowedStrDeserializer::new(key.as_str()))
                .map(Some);
        }
        match self.inject.next() {
            Some(field) => {
                self.next = Some(Next::Missing(context::key_part(field, Some(field))));
                seed.deserialize(BorrowedStrDeserializer::new(field))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.next.take() {
            Some(Next::Value(part, value)) => within(part, value, || {
                seed.deserialize(ValueDe::new(value, self.mode))
            }),
            Some(Next::Missing(part)) => within(part, &Value::Null, || {
                seed.deserialize(MissingDe {
                    parent: self.parent,
                })
            }),
            None => Err(serde::de::Error::custom(
                "a value was asked for before its key",
            )),
        }
    }
}

/// The entries of a map.
pub(crate) struct MapAcc<'a> {
    entries: serde_json::map::Iter<'a>,
    mode: Mode,
    next: Option<(&'a str, &'a Value)>,
}

impl<'a> MapAcc<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>, mode: Mode) -> MapAcc<'a> {
        MapAcc {
            entries: object.iter(),
            mode,
            next: None,
        }
    }
}

impl<'de, 'a: 'de> MapAccess<'de> for MapAcc<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.next = Some((key, value));
                seed.deserialize(KeyDe(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.next.take() {
            Some((key, value)) => within(context::key_part(key, None), value, || {
                seed.deserialize(ValueDe::new(value, self.mode))
            }),
            None => Err(serde::de::Error::custom(
                "a value was asked for before its key",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The items of a sequence.
pub(crate) struct SeqAcc<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'a> SeqAcc<'a> {
    pub(crate) fn new(items: &'a [Value]) -> SeqAcc<'a> {
        SeqAcc {
            items: items.iter().enumerate(),
        }
    }
}

impl<'de, 'a: 'de> SeqAccess<'de> for SeqAcc<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some((index, item)) => within(LocPart::Index(index), item, || {
                seed.deserialize(ValueDe::new(item, Mode::Plain))
            })
            .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The positions of a fixed-size tuple: the input's items, then missing ones up to `len`.
pub(crate) struct TupleAcc<'a> {
    items: &'a [Value],
    len: usize,
    index: usize,
    parent: &'a Value,
}

impl<'a> TupleAcc<'a> {
    pub(crate) fn new(items: &'a [Value], len: usize, parent: &'a Value) -> TupleAcc<'a> {
        TupleAcc {
            items,
            len,
            index: 0,
            parent,
        }
    }
}

impl<'de, 'a: 'de> SeqAccess<'de> for TupleAcc<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.index >= self.len {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        let value = match self.items.get(index) {
            Some(item) => within(LocPart::Index(index), item, || {
                seed.deserialize(ValueDe::new(item, Mode::Plain))
            }),
            None => within(LocPart::Index(index), &Value::Null, || {
                seed.deserialize(MissingDe {
                    parent: self.parent,
                })
            }),
        };
        value.map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.index)
    }
}

/// An enum given as `"variant"` or `{"variant": content}`.
pub(crate) struct EnumAcc<'a> {
    variant: &'a str,
    content: Option<&'a Value>,
}

impl<'a> EnumAcc<'a> {
    pub(crate) fn new(variant: &'a str, content: Option<&'a Value>) -> EnumAcc<'a> {
        EnumAcc { variant, content }
    }
}

impl<'de, 'a: 'de> EnumAccess<'de> for EnumAcc<'a> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.variant))?;
        Ok((variant, self))
    }
}

impl<'de, 'a: 'de> VariantAccess<'de> for EnumAcc<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let content = self.content.unwrap_or(&Value::Null);
        within(LocPart::from(self.variant.to_owned()), content, || {
            seed.deserialize(ValueDe::new(content, Mode::Plain))
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeError> {
        let content = self.content.unwrap_or(&Value::Null);
        within(LocPart::from(self.variant.to_owned()), content, || {
            ValueDe::new(content, Mode::Plain).deserialize_tuple(len, visitor)
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let content = self.content.unwrap_or(&Value::Null);
        within(LocPart::from(self.variant.to_owned()), content, || {
            ValueDe::new(content, Mode::Plain).deserialize_struct("", fields, visitor)
        })
    }
}

/// A map key: a string, or (leniently) a number or boolean spelled as one.
struct KeyDe<'a>(&'a str);

impl KeyDe<'_> {
    /// A bad key is located at the entry, then `[key]`, as pydantic locates it, so that it
    /// stays apart from an error in the entry's value.
    fn record(&self, kind: ErrorKind) {
        context::record_child(
            [context::key_part(self.0, None), LocPart::from("[key]")],
            kind,
            Value::String(self.0.to_owned()),
        );
    }
}

macro_rules! key_int {
    ($($method:ident: $t:ty => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let parsed = scalar::parse_int(self.0)
                .and_then(|n| scalar::in_range(n, <$t>::MIN as i128, <$t>::MAX as i128));
            match parsed {
                Ok(n) => visitor.$visit(n as $t),
                Err(kind) => {
                    self.record(kind);
                    Placeholder::TOP.$method(visitor)
                }
            }
        }
    )*};
}

impl<'de, 'a: 'de> Deserializer<'de> for KeyDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    key_int! {
        deserialize_i8: i8 => visit_i8,
        deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32,
        deserialize_i64: i64 => visit_i64,
        deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16,
        deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64,
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match scalar::parse_float(self.0) {
            Ok(f) => visitor.visit_f64(f),
            Err(kind) => {
                self.record(kind);
                Placeholder::TOP.deserialize_f64(visitor)
            }
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match scalar::parse_bool(self.0) {
            Ok(b) => visitor.visit_bool(b),
            Err(kind) => {
                self.record(kind);
                Placeholder::TOP.deserialize_bool(visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        BorrowedStrDeserializer::<DeError>::new(self.0).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}
