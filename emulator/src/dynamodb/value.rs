//! The AttributeValue model: parsing and validating the wire JSON (`{"S": ".."}`, ...),
//! encoding it back, key values and their ordering, and item size as DynamoDB counts it.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::number::Number;
use crate::aws_error;
use crate::error::AwsError;

/// An item: attribute name to value. Ordered so responses are deterministic.
pub type Item = BTreeMap<String, AttributeValue>;

/// Largest item DynamoDB stores (400 KB, names and values counted).
pub const MAX_ITEM_SIZE: usize = 400 * 1024;
/// Deepest value DynamoDB stores, the attribute's own value being level 1: 31 nested lists
/// or maps around a scalar are accepted, 32 are not (as DynamoDB Local answers).
pub(super) const MAX_NESTING: usize = 32;

/// Serialisable only for the table's own storage ([`super::stored`]); the wire shape is
/// [`AttributeValue::from_json`] and [`AttributeValue::to_json`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(Item),
    L(Vec<AttributeValue>),
    Null,
    Bool(bool),
}

impl PartialEq for AttributeValue {
    /// DynamoDB equality: sets compare as sets, lists in order, maps by key.
    fn eq(&self, other: &Self) -> bool {
        use AttributeValue::*;
        fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.len() == b.len() && a.iter().all(|x| b.contains(x))
        }
        match (self, other) {
            (S(a), S(b)) => a == b,
            (N(a), N(b)) => a == b,
            (B(a), B(b)) => a == b,
            (Ss(a), Ss(b)) => same_set(a, b),
            (Ns(a), Ns(b)) => same_set(a, b),
            (Bs(a), Bs(b)) => same_set(a, b),
            (M(a), M(b)) => a == b,
            (L(a), L(b)) => a == b,
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// AWS's answers for malformed AttributeValues, shared by both readers (this file's, from a
/// JSON tree, and [`super::wire_item`]'s, straight from the request body).
pub(super) mod errors {
    use crate::aws_error;
    use crate::error::AwsError;

    pub fn too_deep() -> AwsError {
        aws_error!(
            ValidationException,
            "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
        )
    }

    pub fn not_an_object() -> AwsError {
        aws_error!(
            SerializationException,
            "Unexpected value type in payload: an AttributeValue must be a JSON object"
        )
    }

    /// No type set (`all_null`), or more than one.
    pub fn not_one_type(all_null: bool) -> AwsError {
        let message = if all_null {
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        } else {
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
        };
        aws_error!(ValidationException, "{message}")
    }

    pub fn wrong_type(key: &str) -> AwsError {
        aws_error!(
            SerializationException,
            "Unexpected value type in payload for AttributeValue member {key}"
        )
    }

    pub fn bad_base64(key: &str) -> AwsError {
        aws_error!(
            SerializationException,
            "Base64 encoded binary data for AttributeValue member {key} could not be decoded"
        )
    }

    pub fn null_not_true() -> AwsError {
        super::invalid("Null attribute value types must have the value of true")
    }

    pub fn unknown_member(key: &str) -> AwsError {
        aws_error!(
            SerializationException,
            "Unknown AttributeValue member {key}"
        )
    }
}

/// A number as DynamoDB reads it, or its error.
pub(super) fn parse_number(text: &str) -> Result<Number, AwsError> {
    text.parse::<Number>()
        .map_err(|e| aws_error!(ValidationException, "{e}"))
}

/// A binary as DynamoDB reads it (base64), or its error naming the member.
pub(super) fn parse_binary(text: &str, key: &str) -> Result<Vec<u8>, AwsError> {
    BASE64.decode(text).map_err(|_| errors::bad_base64(key))
}

fn invalid(message: impl std::fmt::Display) -> AwsError {
    aws_error!(
        ValidationException,
        "One or more parameter values were invalid: {message}"
    )
}

impl AttributeValue {
    /// The wire type name: `S`, `N`, `B`, `SS`, `NS`, `BS`, `M`, `L`, `NULL` or `BOOL`.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Null => "NULL",
            AttributeValue::Bool(_) => "BOOL",
        }
    }

    /// Parses and validates one wire AttributeValue (exactly one type key, non-empty sets
    /// without duplicates, numbers in range).
    pub fn from_json(value: &Value) -> Result<Self, AwsError> {
        Self::from_json_at(value.clone(), 1)
    }

    /// [`AttributeValue::from_json`] taking the value, so its strings move instead of being
    /// copied (items are parsed this way: PutItem's cost, BENCHMARKS.md).
    pub fn from_json_owned(value: Value) -> Result<Self, AwsError> {
        Self::from_json_at(value, 1)
    }

    fn from_json_at(value: Value, depth: usize) -> Result<Self, AwsError> {
        if depth > MAX_NESTING {
            return Err(errors::too_deep());
        }
        let Value::Object(object) = value else {
            return Err(errors::not_an_object());
        };
        let all_null = object.values().all(Value::is_null);
        let mut present = object.into_iter().filter(|(_, v)| !v.is_null());
        let (Some((key, inner)), None) = (present.next(), present.next()) else {
            return Err(errors::not_one_type(all_null));
        };
        let wrong = || errors::wrong_type(&key);
        let string = |v: Value| match v {
            Value::String(s) => Ok(s),
            _ => Err(wrong()),
        };
        let number = |v: Value| parse_number(v.as_str().ok_or_else(wrong)?);
        let binary = |v: Value| parse_binary(v.as_str().ok_or_else(wrong)?, &key);
        let array = |v: Value| match v {
            Value::Array(a) => Ok(a),
            _ => Err(wrong()),
        };
        Ok(match key.as_str() {
            "S" => AttributeValue::S(string(inner)?),
            "N" => AttributeValue::N(number(inner)?),
            "B" => AttributeValue::B(binary(inner)?),
            "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(wrong)?),
            "NULL" => match inner.as_bool() {
                Some(true) => AttributeValue::Null,
                Some(false) => return Err(errors::null_not_true()),
                None => return Err(wrong()),
            },
            "SS" => {
                let set = array(inner)?
                    .into_iter()
                    .map(string)
                    .collect::<Result<Vec<_>, _>>()?;
                check_set(&set, "SS", |s| s.clone())?;
                AttributeValue::Ss(set)
            }
            "NS" => {
                let set = array(inner)?
                    .into_iter()
                    .map(number)
                    .collect::<Result<Vec<_>, _>>()?;
                check_set(&set, "NS", |n| n.to_string())?;
                AttributeValue::Ns(set)
            }
            "BS" => {
                let set = array(inner)?
                    .into_iter()
                    .map(binary)
                    .collect::<Result<Vec<_>, _>>()?;
                check_set(&set, "BS", |b| BASE64.encode(b))?;
                AttributeValue::Bs(set)
            }
            "L" => AttributeValue::L(
                array(inner)?
                    .into_iter()
                    .map(|v| AttributeValue::from_json_at(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            "M" => {
                let Value::Object(map) = inner else {
                    return Err(wrong());
                };
                AttributeValue::M(
                    map.into_iter()
                        .map(|(k, v)| Ok((k, AttributeValue::from_json_at(v, depth + 1)?)))
                        .collect::<Result<_, AwsError>>()?,
                )
            }
            other => return Err(errors::unknown_member(other)),
        })
    }

    pub fn to_json(&self) -> Value {
        let (key, value) = match self {
            AttributeValue::S(s) => ("S", Value::String(s.clone())),
            AttributeValue::N(n) => ("N", Value::String(n.to_string())),
            AttributeValue::B(b) => ("B", Value::String(BASE64.encode(b))),
            AttributeValue::Ss(set) => {
                ("SS", set.iter().map(|s| Value::String(s.clone())).collect())
            }
            AttributeValue::Ns(set) => (
                "NS",
                set.iter().map(|n| Value::String(n.to_string())).collect(),
            ),
            AttributeValue::Bs(set) => (
                "BS",
                set.iter()
                    .map(|b| Value::String(BASE64.encode(b)))
                    .collect(),
            ),
            AttributeValue::M(m) => ("M", Value::Object(item_to_json(m))),
            AttributeValue::L(l) => ("L", l.iter().map(AttributeValue::to_json).collect()),
            AttributeValue::Null => ("NULL", Value::Bool(true)),
            AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        };
        let mut object = Map::new();
        object.insert(key.to_owned(), value);
        Value::Object(object)
    }

    /// The value's size as DynamoDB bills and limits it (without the attribute name):
    /// strings and binaries by length, numbers by [`Number::stored_size`], booleans and nulls
    /// one byte, lists and maps three bytes plus one per element (and map keys' lengths),
    /// sets the sum of their elements. Checked against DynamoDB Local's TableSizeBytes.
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => number_size(n),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
            AttributeValue::Ns(set) => set.iter().map(number_size).sum(),
            AttributeValue::Bs(set) => set.iter().map(Vec::len).sum(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::Null | AttributeValue::Bool(_) => 1,
        }
    }
}

fn number_size(n: &Number) -> usize {
    n.stored_size()
}

/// Rejects empty sets and duplicates with DynamoDB's messages (which differ per set type).
pub(super) fn check_set<T: PartialEq>(
    set: &[T],
    kind: &str,
    show: impl Fn(&T) -> String,
) -> Result<(), AwsError> {
    if set.is_empty() {
        return Err(invalid(match kind {
            "BS" => "Binary sets should not be empty".to_owned(),
            "NS" => "An number set  may not be empty".to_owned(),
            _ => "An string set  may not be empty".to_owned(),
        }));
    }
    let duplicated = set.iter().enumerate().any(|(i, x)| set[..i].contains(x));
    if duplicated {
        return Err(match kind {
            "NS" => aws_error!(ValidationException, "Input collection contains duplicates"),
            "BS" => invalid("Input collection of type BS contains duplicates."),
            _ => {
                let shown: Vec<String> = set.iter().map(&show).collect();
                invalid(format!(
                    "Input collection [{}] contains duplicates",
                    shown.join(", ")
                ))
            }
        });
    }
    Ok(())
}

pub fn item_from_json(object: &Map<String, Value>) -> Result<Item, AwsError> {
    item_from_json_owned(object.clone())
}

/// [`item_from_json`] taking the map, so its strings move instead of being copied.
pub fn item_from_json_owned(object: Map<String, Value>) -> Result<Item, AwsError> {
    object
        .into_iter()
        .map(|(k, v)| Ok((k, AttributeValue::from_json_owned(v)?)))
        .collect()
}

pub fn item_to_json(item: &Item) -> Map<String, Value> {
    item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()
}

/// An item's size: the UTF-8 length of every attribute name plus its value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// A key attribute's value. Ordering is DynamoDB's sort-key order: numbers numerically,
/// strings and binaries bytewise (UTF-8 bytes for strings).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyValue {
    S(String),
    N(Number),
    B(Vec<u8>),
}

impl KeyValue {
    pub fn from_attribute(value: &AttributeValue) -> Option<KeyValue> {
        match value {
            AttributeValue::S(s) => Some(KeyValue::S(s.clone())),
            AttributeValue::N(n) => Some(KeyValue::N(n.clone())),
            AttributeValue::B(b) => Some(KeyValue::B(b.clone())),
            _ => None,
        }
    }

    pub fn to_attribute(&self) -> AttributeValue {
        match self {
            KeyValue::S(s) => AttributeValue::S(s.clone()),
            KeyValue::N(n) => AttributeValue::N(n.clone()),
            KeyValue::B(b) => AttributeValue::B(b.clone()),
        }
    }

    pub fn size(&self) -> usize {
        self.to_attribute().size()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn av(v: Value) -> AttributeValue {
        AttributeValue::from_json(&v).unwrap()
    }

    fn err(v: Value) -> String {
        AttributeValue::from_json(&v).unwrap_err().message
    }

    #[test]
    fn every_type_round_trips() {
        for v in [
            json!({"S": "héllo"}),
            json!({"S": ""}),
            json!({"N": "-1.5"}),
            json!({"B": "AAEC"}),
            json!({"SS": ["a", "b"]}),
            json!({"NS": ["1", "2.5"]}),
            json!({"BS": ["AA==", "AQ=="]}),
            json!({"M": {"a": {"L": [{"NULL": true}, {"BOOL": false}]}}}),
            json!({"L": []}),
            json!({"M": {}}),
        ] {
            assert_eq!(av(v.clone()).to_json(), v);
        }
        assert_eq!(av(json!({"N": "1.50"})).to_json(), json!({"N": "1.5"}));
    }

    #[test]
    fn malformed_values_get_aws_messages() {
        assert!(err(json!({})).contains("is empty"));
        assert!(err(json!({"S": "a", "N": "1"})).contains("more than one datatypes"));
        assert_eq!(
            err(json!({"SS": []})),
            "One or more parameter values were invalid: An string set  may not be empty"
        );
        assert_eq!(
            err(json!({"NS": ["1", "1.0"]})),
            "Input collection contains duplicates"
        );
        assert_eq!(
            err(json!({"SS": ["a", "b", "a"]})),
            "One or more parameter values were invalid: Input collection [a, b, a] contains duplicates"
        );
        assert!(err(json!({"BS": []})).ends_with("Binary sets should not be empty"));
        assert!(err(json!({"NULL": false})).contains("Null attribute value"));
        let mut deep = json!({"S": "leaf"});
        for _ in 0..31 {
            deep = json!({"L": [deep]});
        }
        assert!(AttributeValue::from_json(&deep).is_ok());
        let deeper = json!({"M": {"k": deep}});
        assert!(err(deeper).starts_with("Nesting Levels have exceeded supported limits"));
        assert_eq!(
            err(json!({"N": "one"})),
            "A value provided cannot be converted into a number"
        );
    }

    #[test]
    fn item_size_counts_names_and_values() {
        let item = item_from_json(
            json!({"id": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": true}, "l": {"L": [{"S": "xy"}]}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        // id: 2 + 3; n: 1 + (3 + 1); ok: 2 + 1; l: 1 + (3 + 2 + 1)
        assert_eq!(item_size(&item), 5 + 5 + 3 + 7);
        // Sizes DynamoDB Local reports (TableSizeBytes of a one-item table, minus its key).
        for (item, size) in [
            (
                json!({"m": {"M": {"ab": {"S": "cd"}, "e": {"N": "1"}}}}),
                13,
            ),
            (json!({"ss": {"SS": ["ab", "c"]}}), 5),
            (json!({"bs": {"BS": ["AAA=", "AA=="]}}), 5),
            (json!({"l": {"L": [{"L": []}]}}), 8),
            (json!({"l": {"L": [{"NULL": true}]}}), 6),
            (json!({"s": {"S": "h\u{e9}llo"}}), 7),
            (json!({"n": {"N": "-12345"}}), 6),
        ] {
            let parsed = item_from_json(item.as_object().unwrap()).unwrap();
            assert_eq!(item_size(&parsed), size, "{item}");
        }
    }

    #[test]
    fn key_values_sort_numerically_and_bytewise() {
        let n = |s: &str| KeyValue::N(s.parse().unwrap());
        assert!(n("2") < n("10"));
        assert!(n("-3") < n("-2.5"));
        let s = |s: &str| KeyValue::S(s.into());
        assert!(s("B") < s("a"));
        assert!(s("a") < s("ab"));
        // U+00E9 (0xC3 0xA9) sorts after 'z' (0x7A) bytewise.
        assert!(s("z") < s("é"));
        assert!(KeyValue::B(vec![0x01]) < KeyValue::B(vec![0x01, 0x00]));
        assert!(KeyValue::B(vec![0x7f]) < KeyValue::B(vec![0x80]));
    }
}
