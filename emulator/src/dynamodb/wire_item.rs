//! Items read straight from a request body: each AttributeValue is parsed once, by serde,
//! with no JSON tree in between (PutItem's cost, BENCHMARKS.md "PutItem"). Validation
//! happens as values are read; an invalid value does not stop the read (the rest of the body
//! is still consumed), its AWS error is kept and answered once the body is read.
//!
//! The answers are the JSON-tree reader's ([`AttributeValue::from_json`]), error for error:
//! the same messages ([`super::value::errors`]), the same choice among several errors (the
//! first attribute in name order, as a sorted map visits them; a repeated JSON key counts
//! once, its last value), and a test compares the two readers on every case they reject.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::value::{
    AttributeValue, Item, MAX_NESTING, check_set, errors, parse_binary, parse_number,
};
use crate::error::AwsError;

/// An item (`Item`, `Key`, ...) as read from the body: the item, or the AWS error of its first
/// invalid attribute.
#[derive(Debug)]
pub struct WireItem(pub Result<Item, AwsError>);

impl<'de> de::Deserialize<'de> for WireItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(MapVisitor { depth: 1 })
            .map(WireItem)
    }
}

type Parsed<T> = Result<T, AwsError>;

/// A map of attribute name to AttributeValue at `depth` (an item's attributes are at 1).
struct MapVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for MapVisitor {
    type Value = Parsed<Item>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = Item::new();
        // By name, so the error answered is the first in name order, and a repeated key's
        // last value replaces an earlier error as it replaces an earlier value.
        let mut errors: BTreeMap<String, AwsError> = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value_seed(ValueSeed { depth: self.depth })? {
                Ok(value) => {
                    errors.remove(&name);
                    item.insert(name, value);
                }
                Err(error) => {
                    item.remove(&name);
                    errors.insert(name, error);
                }
            }
        }
        Ok(match errors.into_values().next() {
            Some(error) => Err(error),
            None => Ok(item),
        })
    }
}

/// One AttributeValue (`{"S": ".."}`, ...) at `depth`.
struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Parsed<AttributeValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.depth > MAX_NESTING {
            IgnoredAny::deserialize(deserializer)?;
            return Ok(Err(errors::too_deep()));
        }
        deserializer.deserialize_any(ValueVisitor { depth: self.depth })
    }
}

use serde::Deserialize as _;

struct ValueVisitor {
    depth: usize,
}

/// Anything but an object where an AttributeValue belongs.
macro_rules! not_an_object {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Err(errors::not_an_object()))
        })*
    };
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Parsed<AttributeValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AttributeValue")
    }

    not_an_object!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str)
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err(errors::not_an_object()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(errors::not_an_object()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // The non-null members (a repeated key counts once, its last value), then AWS's
        // checks in the tree reader's order: exactly one type, then that member's value.
        let mut present: Vec<(String, Parsed<AttributeValue>)> = Vec::with_capacity(1);
        while let Some(key) = map.next_key::<String>()? {
            let member = map.next_value_seed(MemberSeed {
                key: &key,
                depth: self.depth,
            })?;
            present.retain(|(k, _)| *k != key);
            if let Some(parsed) = member {
                present.push((key, parsed));
            }
        }
        let mut present = present.into_iter();
        Ok(match (present.next(), present.next()) {
            (Some((_, parsed)), None) => parsed,
            (None, _) => Err(errors::not_one_type(true)),
            (Some(_), Some(_)) => Err(errors::not_one_type(false)),
        })
    }
}

/// The value of one member (`"S"`, `"L"`, ...) of an AttributeValue: `None` for JSON null
/// (which does not count as a type set).
struct MemberSeed<'k> {
    key: &'k str,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = Option<Parsed<AttributeValue>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(MemberVisitor {
            key: self.key,
            depth: self.depth,
        })
    }
}

struct MemberVisitor<'k> {
    key: &'k str,
    depth: usize,
}

impl MemberVisitor<'_> {
    fn wrong<T>(&self) -> Option<Parsed<T>> {
        Some(Err(self.unexpected()))
    }

    /// A value of the wrong JSON type for this member (or any non-null value of a member
    /// DynamoDB does not have).
    fn unexpected(&self) -> AwsError {
        match self.key {
            "S" | "N" | "B" | "BOOL" | "NULL" | "SS" | "NS" | "BS" | "L" | "M" => {
                errors::wrong_type(self.key)
            }
            other => errors::unknown_member(other),
        }
    }
}

impl<'de> Visitor<'de> for MemberVisitor<'_> {
    type Value = Option<Parsed<AttributeValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the value of AttributeValue member {}", self.key)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        self.visit_string(text.to_owned())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Some(match self.key {
            "S" => Ok(AttributeValue::S(text)),
            "N" => parse_number(&text).map(AttributeValue::N),
            "B" => parse_binary(&text, self.key).map(AttributeValue::B),
            _ => Err(self.unexpected()),
        }))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Some(match (self.key, value) {
            ("BOOL", b) => Ok(AttributeValue::Bool(b)),
            ("NULL", true) => Ok(AttributeValue::Null),
            ("NULL", false) => Err(errors::null_not_true()),
            _ => Err(self.unexpected()),
        }))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let key = self.key;
        let parsed = match key {
            "L" => {
                let mut list = Vec::new();
                let mut first_error = None;
                while let Some(element) = seq.next_element_seed(ValueSeed {
                    depth: self.depth + 1,
                })? {
                    match element {
                        Ok(value) if first_error.is_none() => list.push(value),
                        Ok(_) => {}
                        Err(error) => {
                            first_error.get_or_insert(error);
                        }
                    }
                }
                match first_error {
                    Some(error) => Err(error),
                    None => Ok(AttributeValue::L(list)),
                }
            }
            "SS" | "NS" | "BS" => {
                let mut elements = Vec::new();
                while let Some(element) = seq.next_element::<Option<StringOrOther>>()? {
                    elements.push(element.and_then(|e| e.0));
                }
                set(key, elements)
            }
            _ => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Err(self.unexpected())
            }
        };
        Ok(Some(parsed))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        if self.key == "M" {
            let parsed = MapVisitor {
                depth: self.depth + 1,
            }
            .visit_map(map)?;
            return Ok(Some(parsed.map(AttributeValue::M)));
        }
        IgnoredAny.visit_map(map)?;
        Ok(self.wrong())
    }
}

/// A set from its elements (`None`: not a string), checked in order as the tree reader does.
fn set(key: &str, elements: Vec<Option<String>>) -> Parsed<AttributeValue> {
    let text = |element: Option<String>| element.ok_or_else(|| errors::wrong_type(key));
    Ok(match key {
        "SS" => {
            let strings = elements
                .into_iter()
                .map(text)
                .collect::<Result<Vec<_>, _>>()?;
            check_set(&strings, "SS", |s| s.clone())?;
            AttributeValue::Ss(strings)
        }
        "NS" => {
            let numbers = elements
                .into_iter()
                .map(|e| parse_number(&text(e)?))
                .collect::<Result<Vec<_>, _>>()?;
            check_set(&numbers, "NS", |n| n.to_string())?;
            AttributeValue::Ns(numbers)
        }
        _ => {
            let binaries = elements
                .into_iter()
                .map(|e| parse_binary(&text(e)?, key))
                .collect::<Result<Vec<_>, _>>()?;
            check_set(&binaries, "BS", |b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(b)
            })?;
            AttributeValue::Bs(binaries)
        }
    })
}

/// A set element: a string, or (`None`) anything else, consumed.
struct StringOrOther(Option<String>);

impl<'de> de::Deserialize<'de> for StringOrOther {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrOther;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a set element")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<StringOrOther, E> {
                Ok(StringOrOther(Some(text.to_owned())))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<StringOrOther, E> {
                Ok(StringOrOther(Some(text)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringOrOther, E> {
                Ok(StringOrOther(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StringOrOther, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(StringOrOther(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StringOrOther, A::Error> {
                IgnoredAny.visit_map(map)?;
                Ok(StringOrOther(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::dynamodb::value::{item_from_json, item_to_json};

    /// Both readers on one item body: same item, or same error (code and message).
    fn same(item: Value) {
        let tree = item_from_json(item.as_object().unwrap());
        let WireItem(direct) = serde_json::from_str(&item.to_string()).unwrap();
        let WireItem(from_tree) = serde_json::from_value(item.clone()).unwrap();
        assert_eq!(format!("{direct:?}"), format!("{from_tree:?}"));
        match (tree, direct) {
            (Ok(a), Ok(b)) => assert_eq!(item_to_json(&a), item_to_json(&b), "{item}"),
            (Err(a), Err(b)) => {
                assert_eq!((a.code, a.message), (b.code, b.message), "{item}")
            }
            (a, b) => panic!("{item}: tree {a:?}, direct {b:?}"),
        }
    }

    #[test]
    fn both_readers_agree_on_valid_and_invalid_items() {
        let mut deep = json!({"S": "leaf"});
        for _ in 0..31 {
            deep = json!({"L": [deep]});
        }
        let deeper = json!({"M": {"k": deep.clone()}});
        for value in [
            json!({"S": "h\u{e9}llo"}),
            json!({"S": ""}),
            json!({"N": "-1.50"}),
            json!({"N": "one"}),
            json!({"N": "1e400"}),
            json!({"N": 1}),
            json!({"B": "AAEC"}),
            json!({"B": "%%"}),
            json!({"BOOL": true}),
            json!({"BOOL": "true"}),
            json!({"NULL": true}),
            json!({"NULL": false}),
            json!({"NULL": null}),
            json!({"SS": ["a", "b"]}),
            json!({"SS": []}),
            json!({"SS": ["a", "b", "a"]}),
            json!({"SS": ["a", 1]}),
            json!({"SS": "a"}),
            json!({"NS": ["1", "1.0"]}),
            json!({"NS": ["1", "x"]}),
            json!({"NS": ["x", 1]}),
            json!({"NS": [1, "x"]}),
            json!({"BS": [null]}),
            json!({"BS": ["AA==", "AA=="]}),
            json!({"BS": []}),
            json!({"L": []}),
            json!({"L": [{"S": "a"}, {"N": "x"}, {"B": "%"}]}),
            json!({"L": {"S": "a"}}),
            json!({"M": {}}),
            json!({"M": {"b": {"N": "x"}, "a": {"B": "%"}}}),
            json!({"M": [1]}),
            json!({}),
            json!({"S": null, "N": null}),
            json!({"S": "a", "N": "1"}),
            json!({"S": "a", "N": null}),
            json!({"X": "a"}),
            json!({"X": null, "S": "a"}),
            json!({"X": 1, "S": "a"}),
            json!("not an object"),
            json!(null),
            json!([1, 2]),
            json!(7),
            deep,
            deeper,
        ] {
            same(json!({ "a": value }));
        }
        // The first error in name order, whatever the order in the body.
        same(json!({"z": {"N": "x"}, "b": {"S": 1}, "m": {}}));
    }

    #[test]
    fn a_repeated_key_counts_once_with_its_last_value() {
        // serde_json::Value keeps a repeated key's last value; so does the direct reader.
        let body = r#"{"a": {"N": "x"}, "a": {"S": "ok"}, "v": {"S": "1", "S": "2"}}"#;
        let WireItem(direct) = serde_json::from_str(body).unwrap();
        let tree: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
        assert_eq!(
            item_to_json(&direct.unwrap()),
            item_to_json(&item_from_json(&tree).unwrap())
        );
    }

    #[test]
    fn not_an_item_is_a_serde_error() {
        assert!(serde_json::from_str::<WireItem>("\"x\"").is_err());
        assert!(serde_json::from_str::<WireItem>("[1]").is_err());
    }
}
