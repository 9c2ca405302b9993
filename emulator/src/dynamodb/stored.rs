//! How a table holds an item: encoded, one allocation per item.
//!
//! A parsed [`Item`] is a tree of maps, strings and big decimals: a `BTreeMap` node of 11
//! slots per item and per nested map, plus an allocation per string and number. Held that way,
//! an item of the pipeline's shape took 17.65x its DynamoDB size in memory (BENCHMARKS.md,
//! "Memory per stored item"). Stored encoded (postcard: varint lengths, one tag byte per
//! value, numbers as integer bytes and scale), it costs its DynamoDB size plus a few bytes per
//! attribute, and reads pay a decode, which costs about what the clone every read made anyway.
//! The key attributes are left out (the table's map holds them) and put back on decode.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::table::{KeySchema, PrimaryKey};
use super::value::{Item, item_size};

/// One stored item: its encoding and its DynamoDB size (kept so that capacity accounting,
/// which sizes the old item of every write, needs no decode).
#[derive(Debug)]
pub struct Stored {
    bytes: Box<[u8]>,
    size: u32,
}

impl Stored {
    pub fn encode(item: &Item, schema: &KeySchema) -> Self {
        let encoded = postcard::to_allocvec(&WithoutKey { item, schema }).unwrap_or_default();
        // An exact allocation: shrinking the encoder's doubled buffer in place (Vec's
        // into_boxed_slice) kept the larger block, 30% more memory per item under mimalloc.
        let bytes = Box::from(encoded.as_slice());
        Self {
            bytes,
            // Items are at most 400 KB (checked before they are stored).
            size: u32::try_from(item_size(item)).unwrap_or(u32::MAX),
        }
    }

    /// The item, its key attributes (`key`, stored under it) put back.
    pub fn decode(&self, schema: &KeySchema, key: &PrimaryKey) -> Item {
        // The bytes are our own encoding of a valid item (round trip tested below and by the
        // DynamoDB conformance tests); failing here would be an emulator bug.
        let mut item: Item = postcard::from_bytes(&self.bytes).expect("a stored item decodes");
        item.insert(schema.hash.name.clone(), key.hash.to_attribute());
        if let (Some(attr), Some(range)) = (&schema.range, &key.range) {
            item.insert(attr.name.clone(), range.to_attribute());
        }
        item
    }

    /// The item's size as DynamoDB counts it ([`item_size`]).
    pub fn size(&self) -> usize {
        self.size as usize
    }
}

/// An item's non-key attributes, serialised as a map.
struct WithoutKey<'a> {
    item: &'a Item,
    schema: &'a KeySchema,
}

impl WithoutKey<'_> {
    fn is_key(&self, name: &str) -> bool {
        self.schema.hash.name == name || self.schema.range.as_ref().is_some_and(|r| r.name == name)
    }
}

impl Serialize for WithoutKey<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rest = || self.item.iter().filter(|(name, _)| !self.is_key(name));
        let mut map = serializer.serialize_map(Some(rest().count()))?;
        for (name, value) in rest() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dynamodb::table::KeyAttr;
    use crate::dynamodb::value::{KeyValue, item_from_json, item_to_json};

    #[test]
    fn every_type_round_trips_through_the_encoding() {
        let wire = json!({
            "s": {"S": "h\u{e9}llo"}, "empty": {"S": ""}, "n": {"N": "-12.5e3"},
            "big": {"N": "99999999999999999999999999999999999999"}, "tiny": {"N": "1e-130"},
            "b": {"B": "AAEC"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
            "bs": {"BS": ["AA==", "AQ=="]}, "null": {"NULL": true}, "t": {"BOOL": true},
            "m": {"M": {"l": {"L": [{"M": {}}, {"L": []}, {"N": "0"}]}}},
        });
        let item = item_from_json(wire.as_object().unwrap()).unwrap();
        let schema = KeySchema {
            hash: KeyAttr {
                name: "s".into(),
                ty: "S",
            },
            range: Some(KeyAttr {
                name: "n".into(),
                ty: "N",
            }),
        };
        let key = PrimaryKey {
            hash: KeyValue::S("h\u{e9}llo".into()),
            range: KeyValue::from_attribute(&item["n"]),
        };
        let stored = Stored::encode(&item, &schema);
        assert_eq!(stored.size(), item_size(&item));
        assert_eq!(
            item_to_json(&stored.decode(&schema, &key)),
            item_to_json(&item)
        );
        // Compact: the encoding is close to DynamoDB's own measure of the item.
        let (encoded, size) = (stored.bytes.len(), item_size(&item));
        assert!(
            encoded < size + 3 * item.len() + 40,
            "{encoded} bytes for {size}"
        );
    }
}
