//! [`Placeholder`]: a stand-in value for one that was wrong or missing, so deserialization
//! can go on and find the next error. The value itself is thrown away with the pass (a
//! pass with errors never returns its result), so any value of the right shape will do:
//! zero, `""`, empty collections, `None`, the first enum variant, a struct of placeholders.
//! It records nothing.
//!
//! A type can nest itself where a placeholder must go on (an enum whose first variant
//! holds the enum again, `And(Box<Filter>, Box<Filter>)`): a placeholder of it has no
//! bottom. Placeholders count how deep they nest, and past [`MAX_DEPTH`] fail the pass
//! with [`DeError::NoPlaceholder`], which reports the errors found so far (the one the
//! placeholder stood in for among them) rather than recursing until the stack overflows.

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
    value::BorrowedStrDeserializer,
};

use super::DeError;

/// How deep placeholders may nest: far beyond any type's real nesting, well within the
/// stack.
const MAX_DEPTH: u16 = 64;

#[derive(Clone, Copy)]
pub(crate) struct Placeholder {
    depth: u16,
}

impl Placeholder {
    /// A placeholder for a value that is wrong or missing.
    pub(crate) const TOP: Placeholder = Placeholder { depth: 0 };

    /// The placeholder of a value inside this one.
    fn inner(self) -> Result<Placeholder, DeError> {
        if self.depth >= MAX_DEPTH {
            return Err(DeError::NoPlaceholder);
        }
        Ok(Placeholder {
            depth: self.depth + 1,
        })
    }
}

macro_rules! visit {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit($value)
        }
    )*};
}

impl<'de> Deserializer<'de> for Placeholder {
    type Error = DeError;

    visit! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_i128 => visit_i128(0),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_u128 => visit_u128(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('\0'),
        deserialize_str => visit_borrowed_str(""),
        deserialize_string => visit_borrowed_str(""),
        deserialize_bytes => visit_borrowed_bytes(b""),
        deserialize_byte_buf => visit_borrowed_bytes(b""),
        deserialize_identifier => visit_borrowed_str(""),
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_none()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self.inner()?)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items(0, self))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items(len, self))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items(len, self))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields(&[], self))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields(fields, self))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match variants.first() {
            Some(first) => visitor.visit_enum(FirstVariant(first, self)),
            None => Err(serde::de::Error::custom("an enum without variants")),
        }
    }
}

/// `n` placeholder items inside the placeholder given.
struct Items(usize, Placeholder);

impl<'de> SeqAccess<'de> for Items {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.0 == 0 {
            return Ok(None);
        }
        self.0 -= 1;
        seed.deserialize(self.1.inner()?).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0)
    }
}

/// Every field of a struct, each a placeholder inside the one given.
struct Fields(&'static [&'static str], Placeholder);

impl<'de> MapAccess<'de> for Fields {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.0.split_first() {
            None => Ok(None),
            Some((field, rest)) => {
                self.0 = rest;
                seed.deserialize(BorrowedStrDeserializer::new(field))
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        seed.deserialize(self.1.inner()?)
    }
}

struct FirstVariant(&'static str, Placeholder);

impl<'de> EnumAccess<'de> for FirstVariant {
    type Error = DeError;
    type Variant = Placeholder;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Placeholder), DeError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::<DeError>::new(self.0))?;
        Ok((variant, self.1))
    }
}

impl<'de> VariantAccess<'de> for Placeholder {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self.inner()?)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items(len, self))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields(fields, self))
    }
}
