//! `docs/configuration.md` documents exactly the settings that exist: every key the `Settings`
//! struct accepts has a row there, and every row names a real key.
//!
//! The keys come from the struct itself: a probing `Deserializer` walks `Settings`' `Deserialize`
//! implementation, recording each field it is asked for and answering leaves with a plausible
//! value, so a new setting is found without anyone listing it.

use std::{cell::RefCell, collections::BTreeSet, fmt};

use partner_center_gateway::config::Settings;
use serde::{
    Deserialize,
    de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor, value::Error},
};

#[derive(Default)]
struct Found {
    /// Every dotted path a value was asked for at.
    paths: BTreeSet<String>,
    /// Paths whose value is a table of further keys (not settings themselves).
    sections: BTreeSet<String>,
}

#[derive(Clone, Copy)]
struct Probe<'a> {
    path: &'a str,
    found: &'a RefCell<Found>,
}

/// The visitor's own description of what it expects (`"socket address"`, `"a duration"`, ...).
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// A string the leaf's type accepts, chosen by what its visitor says it expects.
fn sample_text<'de, V: Visitor<'de>>(visitor: &V) -> &'static str {
    let expecting = Expecting(visitor).to_string().to_ascii_lowercase();
    if expecting.contains("socket address") {
        "127.0.0.1:1"
    } else if expecting.contains("url") {
        "http://example.invalid/"
    } else if expecting.contains("uuid") {
        "00000000-0000-0000-0000-000000000000"
    } else if expecting.contains("duration") {
        "1s"
    } else {
        "sample"
    }
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = sample_text(&visitor);
        visitor.visit_str(text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(false)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(1)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(1)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(1)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(1)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(1)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(1)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(1)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(1)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(0.5)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(0.5)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let element = format!("{}[]", self.path);
        visitor.visit_seq(OneElement { probe: Some(Probe { path: &element, found: self.found }) })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.found.borrow_mut().sections.insert(self.path.to_owned());
        visitor.visit_map(Fields { parent: self.path, fields: fields.iter(), current: None, found: self.found })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }

    /// A map's keys are the user's (e.g. operation names): the map itself is the documented key.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(serde::de::value::MapDeserializer::<_, Error>::new(std::iter::empty::<(String, String)>()))
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct tuple tuple_struct identifier ignored_any i128 u128
    }
}

struct OneElement<'a> {
    probe: Option<Probe<'a>>,
}

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.probe.take().map(|probe| seed.deserialize(probe)).transpose()
    }
}

struct Fields<'a> {
    parent: &'a str,
    fields: std::slice::Iter<'static, &'static str>,
    current: Option<String>,
    found: &'a RefCell<Found>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else { return Ok(None) };
        let path = if self.parent.is_empty() { (*field).to_owned() } else { format!("{}.{field}", self.parent) };
        self.found.borrow_mut().paths.insert(path.clone());
        self.current = Some(path);
        seed.deserialize((*field).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let path = self.current.take().unwrap_or_default();
        seed.deserialize(Probe { path: &path, found: self.found })
    }
}

/// Every settable key of `Settings`, dotted; `[]` marks the entries of a list.
fn setting_keys() -> BTreeSet<String> {
    let found = RefCell::new(Found::default());
    Settings::deserialize(Probe { path: "", found: &found }).expect("the probe can build a Settings");
    let found = found.into_inner();
    found.paths.difference(&found.sections).cloned().collect()
}

/// The keys `docs/configuration.md` documents: the backticked first cell of each table row.
fn documented_keys() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md"))
        .expect("docs/configuration.md exists");
    doc.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(key, _)| key.to_owned())
        .collect()
}

#[test]
fn every_setting_is_documented_and_every_documented_setting_exists() {
    let keys = setting_keys();
    assert!(keys.contains("rest.listen") && keys.contains("partner_center.partners[].client_secret_file"), "{keys:?}");
    assert!(keys.len() > 60, "the probe found only {} keys: {keys:?}", keys.len());
    let documented = documented_keys();
    let undocumented: Vec<_> = keys.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&keys).collect();
    assert!(undocumented.is_empty(), "settings missing from docs/configuration.md: {undocumented:?}");
    assert!(unknown.is_empty(), "docs/configuration.md documents settings that do not exist: {unknown:?}");
}
