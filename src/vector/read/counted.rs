//! One GeoJSON feature parsed into a JSON tree with a budget of values
//! ([`Limit::FeatureValues`](crate::limits::Limit::FeatureValues)): a feature of a hundred
//! million coordinates is refused as it is read, before its tree takes gigabytes.

use std::cell::Cell;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The values one feature may still take; reset before each feature.
pub(super) struct Budget {
    max: u64,
    left: Cell<u64>,
    over: Cell<bool>,
    /// What ran out of values (`the feature at features[12]`), named by the reader that saw
    /// the parse stop.
    what: std::cell::RefCell<Option<String>>,
}

impl Budget {
    pub(super) fn new(max: u64) -> Self {
        Budget {
            max,
            left: Cell::new(max),
            over: Cell::new(false),
            what: std::cell::RefCell::new(None),
        }
    }

    /// The limit in force.
    pub(super) fn max(&self) -> u64 {
        self.max
    }

    /// A full budget for the next value.
    pub(super) fn reset(&self) {
        self.left.set(self.max);
    }

    /// Names what ran out of values, when the budget is spent and nothing is named yet (the
    /// innermost reader to see the parse stop names it).
    pub(super) fn blame(&self, what: impl FnOnce() -> String) {
        let mut w = self.what.borrow_mut();
        if self.over.get() && w.is_none() {
            *w = Some(what());
        }
    }

    /// What ran out of values, when a parse stopped for that.
    pub(super) fn exceeded(&self) -> Option<String> {
        self.over.get().then(|| {
            self.what
                .borrow()
                .clone()
                .unwrap_or_else(|| "the GeoJSON object".to_string())
        })
    }

    /// Takes one value from the budget.
    pub(super) fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(n) => {
                self.left.set(n);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom(format!(
                    "a feature holds more than {} JSON values",
                    self.max
                )))
            }
        }
    }
}

/// A [`DeserializeSeed`] of a JSON value that spends one unit of its [`Budget`] per value.
#[derive(Clone, Copy)]
pub(super) struct Counted<'a>(pub(super) &'a Budget);

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.spend()?;
        // serde_json gives only finite numbers; a non-finite one would be null, as in Value
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.spend()?;
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.spend()?;
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(self)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.spend()?;
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.0.spend()?;
            let v = map.next_value_seed(self)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// Parses one JSON value of `text` within a budget of `max` values (tests and the like).
#[cfg(test)]
fn parse(text: &str, max: u64) -> Result<Value, serde_json::Error> {
    let budget = Budget::new(max);
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Counted(&budget).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_the_one_serde_json_builds() {
        let text = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1.5,0],[1,-2],[0,0]]]},"properties":{"name":"a","n":null,"ok":true,"big":18446744073709551615}}"#;
        let want: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text, 1000).unwrap(), want);
    }

    #[test]
    fn a_value_past_the_budget_stops_the_parse() {
        // [[0,0],[1,1]]: 1 + 2 × 3 values
        assert!(parse("[[0,0],[1,1]]", 7).is_ok());
        let e = parse("[[0,0],[1,1]]", 6).unwrap_err();
        assert!(e.to_string().contains("more than 6 JSON values"), "{e}");
    }
}
