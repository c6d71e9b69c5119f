//! The fast path of the key-value extractors: deserializes `T` straight from the borrowed
//! pairs (path parameters, query or form pairs, headers, cookies), with no `Value` in
//! between, no error collection and no location tracking.
//!
//! It only ever *succeeds* with what the collecting deserializer's first pass would
//! produce: it hands the visitors the same calls with the same values (the lax scalar rules
//! of [`scalar`], keys in order of first appearance, a scalar taking the last or first of
//! its key's values, a sequence all of them). Wherever the slow path would record an error,
//! or does something this one does not mirror (maps, tuples inside a source, non-unit enum
//! variants, buffered `flatten`/untagged content), it fails instead, and the caller runs the
//! slow path, which produces the request's errors exactly as before.
//!
//! Every error made during a fast pass, by us, by the derive or by a constrained type
//! (which, with no collecting pass running, fails rather than reports), raises a
//! thread-local flag; a pass that raised it is discarded even if it returned `Ok`, so a
//! `Deserialize` impl that swallows an error (a default-on-error wrapper) cannot turn the
//! slow path's 422 into a success here.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor, value::BorrowedStrDeserializer,
};

use super::{Shape, context, scalar};

/// More pairs than this go to the slow path: keys are grouped by scanning back, which is
/// quadratic, and requests with many pairs are not the common case worth a fast path.
const MAX_PAIRS: usize = 32;

thread_local! {
    /// Whether an error was made during the current fast pass.
    static FAILED: Cell<bool> = const { Cell::new(false) };
}

/// The fast path gave up; the slow path decides. Carries nothing, so making one (which
/// serde does with a formatted message) costs nothing.
#[derive(Debug)]
pub(crate) struct Bail;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the fast path gave up")
    }
}

impl std::error::Error for Bail {}

impl serde::de::Error for Bail {
    fn custom<M: fmt::Display>(_msg: M) -> Bail {
        // Every other constructor of serde's error trait defaults to this one.
        FAILED.with(|f| f.set(true));
        Bail
    }
}

fn bail<R>() -> Result<R, Bail> {
    Err(serde::de::Error::custom(""))
}

/// A key and its value, as each source holds them.
pub(crate) trait Pair {
    fn key(&self) -> &str;
    fn value(&self) -> &str;
}

impl Pair for (String, String) {
    fn key(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

impl Pair for (Cow<'_, str>, Cow<'_, str>) {
    fn key(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

/// `T` read from `pairs` laid out as `shape`, or `None` if the slow path must decide.
pub(crate) fn from_pairs<T: DeserializeOwned, P: Pair>(pairs: &[P], shape: Shape) -> Option<T> {
    // Inside a collecting pass (a `Deserialize` impl that extracts again), constrained
    // types would report into that pass rather than fail here.
    if pairs.len() > MAX_PAIRS || context::active() {
        return None;
    }
    let previous = FAILED.with(|f| f.replace(false));
    let result = match shape {
        Shape::Path => {
            // Duplicate names collapse in the slow path's object; not worth mirroring.
            if (1..pairs.len()).any(|i| first_index(pairs, i) != i) {
                FAILED.with(|f| f.replace(previous));
                return None;
            }
            T::deserialize(PathDe { pairs })
        }
        Shape::Multi { pick_last, .. } => T::deserialize(KvDe { pairs, pick_last }),
        Shape::Json => bail(),
    };
    let failed = FAILED.with(|f| f.replace(previous));
    match result {
        Ok(value) if !failed => Some(value),
        _ => None,
    }
}

/// The index of the first pair with the key of pair `i`.
fn first_index<P: Pair>(pairs: &[P], i: usize) -> usize {
    let key = pairs[i].key();
    pairs[..i].iter().position(|p| p.key() == key).unwrap_or(i)
}

/// One string value, read as the slow path reads a string in a plain (not multi-valued)
/// position.
#[derive(Clone, Copy)]
struct StrDe<'a>(&'a str);

macro_rules! int_method {
    ($($method:ident: $t:ty => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
            let parsed = scalar::parse_int(self.0)
                .and_then(|n| scalar::in_range(n, <$t>::MIN as i128, <$t>::MAX as i128));
            match parsed {
                // In range by construction, so the cast is exact.
                Ok(n) => visitor.$visit(n as $t),
                Err(_) => bail(),
            }
        }
    )*};
}

macro_rules! bail_method {
    ($($method:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $(_: $t,)* _visitor: V) -> Result<V::Value, Bail> {
            bail()
        }
    )*};
}

impl<'de> Deserializer<'de> for StrDe<'de> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match scalar::parse_bool(self.0) {
            Ok(b) => visitor.visit_bool(b),
            Err(_) => bail(),
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

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        // As the slow path: checked as i128, so u128 tops out at i128::MAX.
        match scalar::parse_int(self.0).and_then(|n| scalar::in_range(n, 0, i128::MAX)) {
            Ok(n) => visitor.visit_u128(n.unsigned_abs()),
            Err(_) => bail(),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match scalar::parse_float(self.0) {
            Ok(f) => visitor.visit_f32(f as f32),
            Err(_) => bail(),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        match scalar::parse_float(self.0) {
            Ok(f) => visitor.visit_f64(f),
            Err(_) => bail(),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        let mut chars = self.0.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => bail(),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_bytes(self.0.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_bytes(self.0.as_bytes())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        // A string is never null.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_enum(UnitVariant(self.0))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_unit()
    }

    // A string is not a unit, list, tuple, map or struct: the slow path reports those.
    bail_method! {
        deserialize_unit(), deserialize_unit_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(), deserialize_struct(name: &'static str, fields: &'static [&'static str]),
    }
}

/// An enum given by its variant's name: only unit variants are read here (the slow path
/// hands the others a `null` content, which some types accept).
struct UnitVariant<'a>(&'a str);

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = Bail;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Bail> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.0))?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de> {
    type Error = Bail;

    fn unit_variant(self) -> Result<(), Bail> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Bail> {
        bail()
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Bail> {
        bail()
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Bail> {
        bail()
    }
}

/// Every value one key has in a key-value source: `pairs` starts at the key's first pair.
/// A scalar reads one of them (the last or the first), a sequence all.
struct MultiDe<'a, P> {
    pairs: &'a [P],
    key: &'a str,
    pick_last: bool,
}

impl<P> Clone for MultiDe<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for MultiDe<'_, P> {}

impl<'a, P: Pair> MultiDe<'a, P> {
    fn picked(self) -> StrDe<'a> {
        let pair = if self.pick_last {
            self.pairs.iter().rev().find(|p| p.key() == self.key)
        } else {
            self.pairs.first()
        };
        StrDe(pair.map_or("", |p| p.value()))
    }
}

macro_rules! forward {
    ($to:ident; $($method:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, Bail> {
            self.$to()?.$method($($arg,)* visitor)
        }
    )*};
}

impl<'a, P: Pair> MultiDe<'a, P> {
    fn one(self) -> Result<StrDe<'a>, Bail> {
        Ok(self.picked())
    }
}

impl<'de, P: Pair> Deserializer<'de> for MultiDe<'de, P> {
    type Error = Bail;

    forward! { one;
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_map(), deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        // A key that is there has a value, even an empty one.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        let len = self.pairs.iter().filter(|p| p.key() == self.key).count();
        visitor.visit_seq(Values {
            pairs: self.pairs.iter(),
            key: self.key,
            left: len,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_unit()
    }

    // Fixed-size tuples pad with missing items in the slow path: not mirrored.
    bail_method! {
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
    }
}

/// The values of one key, in order.
struct Values<'a, P> {
    pairs: std::slice::Iter<'a, P>,
    key: &'a str,
    left: usize,
}

impl<'de, P: Pair> SeqAccess<'de> for Values<'de, P> {
    type Error = Bail;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Bail> {
        let key = self.key;
        match self.pairs.find(|p| p.key() == key) {
            Some(pair) => {
                self.left -= 1;
                seed.deserialize(StrDe(pair.value())).map(Some)
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The root of a key-value source: a struct whose fields are the keys.
struct KvDe<'a, P> {
    pairs: &'a [P],
    pick_last: bool,
}

impl<P> Clone for KvDe<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for KvDe<'_, P> {}

impl<'de, P: Pair> Deserializer<'de> for KvDe<'de, P> {
    type Error = Bail;

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_map(Fields {
            pairs: self.pairs,
            next: 0,
            current: None,
            multi: Some(self.pick_last),
        })
    }

    // A map (also what `flatten` asks for) or anything else at the root: the slow path.
    bail_method! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(), deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
}

/// The fields of a struct: each distinct key once, in order of first appearance, as the
/// slow path's object holds them.
struct Fields<'a, P> {
    pairs: &'a [P],
    next: usize,
    current: Option<usize>,
    /// `Some(pick_last)` for a key-value source (all of a key's values); `None` for path
    /// parameters (one string each, names already known to be distinct).
    multi: Option<bool>,
}

impl<'de, P: Pair> MapAccess<'de> for Fields<'de, P> {
    type Error = Bail;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Bail> {
        while self.next < self.pairs.len() {
            let i = self.next;
            self.next += 1;
            if self.multi.is_some() && first_index(self.pairs, i) != i {
                continue;
            }
            self.current = Some(i);
            return seed
                .deserialize(BorrowedStrDeserializer::new(self.pairs[i].key()))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Bail> {
        let Some(i) = self.current.take() else {
            return bail();
        };
        match self.multi {
            Some(pick_last) => seed.deserialize(MultiDe {
                pairs: &self.pairs[i..],
                key: self.pairs[i].key(),
                pick_last,
            }),
            None => seed.deserialize(StrDe(self.pairs[i].value())),
        }
    }
}

/// Path parameters: one value, a sequence in route order, or a struct by name.
struct PathDe<'a, P> {
    pairs: &'a [P],
}

impl<P> Clone for PathDe<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for PathDe<'_, P> {}

impl<'a, P: Pair> PathDe<'a, P> {
    /// The only parameter (any other count is the slow path's 500).
    fn single(self) -> Result<StrDe<'a>, Bail> {
        match self.pairs {
            [only] => Ok(StrDe(only.value())),
            _ => bail(),
        }
    }

    fn seq<V: Visitor<'a>>(self, len: Option<usize>, visitor: V) -> Result<V::Value, Bail> {
        if len.is_some_and(|len| len != self.pairs.len()) {
            return bail();
        }
        visitor.visit_seq(Params(self.pairs.iter()))
    }
}

impl<'de, P: Pair> Deserializer<'de> for PathDe<'de, P> {
    type Error = Bail;

    forward! { single;
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_option(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Bail> {
        self.seq(None, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Bail> {
        self.seq(Some(len), visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Bail> {
        self.seq(Some(len), visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Bail> {
        visitor.visit_map(Fields {
            pairs: self.pairs,
            next: 0,
            current: None,
            multi: None,
        })
    }

    bail_method! { deserialize_map() }
}

/// The path parameters in route order.
struct Params<'a, P>(std::slice::Iter<'a, P>);

impl<'de, P: Pair> SeqAccess<'de> for Params<'de, P> {
    type Error = Bail;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Bail> {
        match self.0.next() {
            Some(pair) => seed.deserialize(StrDe(pair.value())).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
