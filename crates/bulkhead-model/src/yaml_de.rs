//! Typed reading straight from the YAML tree: `T::deserialize(&node)`.
//!
//! Analyses read manifests as typed Kubernetes objects; going through
//! `serde_json::Value` first built a second copy of every manifest, and on a
//! large fleet the memory alone (fresh pages the kernel must zero) cost more
//! than the parsing. Values borrow from the tree where serde lets them.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::yaml::{Entry, Node, Value};

/// Why a node does not read as the wanted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(Items(items.iter())),
            Value::Map(entries) => visitor.visit_map(Entries { entries: entries.iter(), value: None }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.value {
            // A unit variant written as its name.
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::custom("expected an enum variant name")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Items<'de>(std::slice::Iter<'de, Node>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        self.0.next().map(|n| seed.deserialize(n)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de> {
    entries: std::slice::Iter<'de, Entry>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some(e) => {
                self.value = Some(&e.value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(e.key.as_str())).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let value = self.value.take().ok_or_else(|| de::Error::custom("a value without a key"))?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::SourceFile;
    use crate::yaml::parse;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        port: Port,
        initial_delay_seconds: Option<u32>,
        tags: Vec<String>,
        mode: Mode,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum Port {
        Number(i64),
        Name(String),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Mode {
        Fast,
        Slow,
    }

    #[test]
    fn reads_typed_values_as_json_would() {
        let file = SourceFile::new("t.yaml", "port: http\ninitialDelaySeconds: ~\ntags: [a, b]\nmode: Slow\n");
        let doc = parse(&file, Default::default()).unwrap().docs.remove(0);
        let typed = Probe::deserialize(&doc).unwrap();
        let via_json: Probe = serde_json::from_value(doc.to_json()).unwrap();
        assert_eq!(typed, via_json);
        assert_eq!(typed.port, Port::Name("http".into()));
        assert_eq!(typed.mode, Mode::Slow);
        let bad = SourceFile::new("t.yaml", "port: 1\ntags: x\nmode: Slow\n");
        let doc = parse(&bad, Default::default()).unwrap().docs.remove(0);
        assert!(Probe::deserialize(&doc).is_err());
    }
}
