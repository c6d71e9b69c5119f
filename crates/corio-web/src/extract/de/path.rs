//! [`PathDe`]: path parameters read as a struct (by name), a tuple (in order) or, when the
//! route has exactly one, as that one value. Each value is a string; its location is
//! `["path", name]`.

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::DeError;
use super::value::{Mode, ValueDe};
use crate::extract::validation::LocPart;

pub(crate) struct PathDe<'a> {
    /// The parameters: an object of strings.
    pub(crate) params: &'a Value,
}

impl<'a> PathDe<'a> {
    fn object(&self) -> Option<&'a Map<String, Value>> {
        self.params.as_object()
    }

    fn wrong_count(&self, wanted: usize) -> DeError {
        let have = self.object().map_or(0, Map::len);
        DeError::Internal(format!(
            "the handler reads {wanted} path parameter(s), the route has {have}"
        ))
    }

    /// Deserializes the only parameter with `f`.
    fn single<R>(self, f: impl FnOnce(ValueDe<'a>) -> Result<R, DeError>) -> Result<R, DeError> {
        let Some((name, value)) = self
            .object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return Err(self.wrong_count(1));
        };
        super::context::push(LocPart::from(name.clone()));
        let result = f(ValueDe::new(value, Mode::Plain)).map_err(|e| e.located(|| value.clone()));
        super::context::pop();
        result
    }

    fn seq<V: Visitor<'a>>(self, len: Option<usize>, visitor: V) -> Result<V::Value, DeError> {
        let object = self.object();
        let have = object.map_or(0, Map::len);
        if len.is_some_and(|len| len != have) {
            return Err(self.wrong_count(len.unwrap_or(0)));
        }
        visitor.visit_seq(PathSeq {
            entries: object.map(|o| o.iter()),
        })
    }
}

macro_rules! single {
    ($($method:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, DeError> {
            self.single(|de| de.$method($($arg,)* visitor))
        }
    )*};
}

impl<'de> Deserializer<'de> for PathDe<'de> {
    type Error = DeError;

    single! {
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

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.seq(None, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.seq(Some(len), visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.seq(Some(len), visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        ValueDe::new(self.params, Mode::Plain).deserialize_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        ValueDe::new(self.params, Mode::Plain).deserialize_struct(name, fields, visitor)
    }
}

/// The parameters in route order, each at `["path", name]`.
struct PathSeq<'a> {
    entries: Option<serde_json::map::Iter<'a>>,
}

impl<'de> SeqAccess<'de> for PathSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((name, value)) = self.entries.as_mut().and_then(Iterator::next) else {
            return Ok(None);
        };
        super::context::push(LocPart::from(name.clone()));
        let result = seed
            .deserialize(ValueDe::new(value, Mode::Plain))
            .map_err(|e| e.located(|| value.clone()));
        super::context::pop();
        result.map(Some)
    }
}
