//! One table's state, sans-io: its key schema and billing, and its items in ordered maps: by
//! partition key for a table without a sort key, by partition key then sort key otherwise, so
//! a Query is a range scan of one partition. Items are held encoded ([`Stored`]) and decoded
//! on read. With Time to Live enabled, an index of expiry times beside the items finds the
//! expired ones without a scan ([`Table::expire`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, RangeBounds};

use super::DynamoDbConfig;
use super::stored::Stored;
use super::throughput::{Cost, Kind, Throughput};
use super::value::{AttributeValue, Item, KeyValue};
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// Largest partition key value, in bytes.
const MAX_HASH_KEY: usize = 2048;
/// Largest sort key value, in bytes.
const MAX_RANGE_KEY: usize = 1024;

/// A key attribute's declared name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone)]
pub struct KeyAttr {
    pub name: String,
    pub ty: &'static str,
}

#[derive(Debug, Clone)]
pub struct KeySchema {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
}

impl KeySchema {
    pub fn names(&self) -> Vec<&str> {
        std::iter::once(self.hash.name.as_str())
            .chain(self.range.as_ref().map(|r| r.name.as_str()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    PayPerRequest,
    Provisioned { read: u64, write: u64 },
}

/// What DescribeTable reports about billing beyond the mode itself.
#[derive(Debug, Clone, Default)]
pub struct BillingHistory {
    /// Whether a BillingMode was ever given (CreateTable or UpdateTable): AWS reports a
    /// `BillingModeSummary` only then.
    pub mode_given: bool,
    /// When the table last became PAY_PER_REQUEST.
    pub pay_per_request_since: Option<Millis>,
    pub last_increase: Option<Millis>,
    pub last_decrease: Option<Millis>,
    pub decreases_today: u64,
}

/// A table's Time to Live setting: the attribute (kept when disabled, as AWS's
/// DescribeTimeToLive only shows it while enabled) and when it last changed.
#[derive(Debug, Clone, Default)]
pub struct TimeToLive {
    pub attribute: Option<String>,
    pub enabled: bool,
    pub changed_at: Option<Millis>,
}

/// An item's primary key: partition key and, for composite keys, sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrimaryKey {
    pub hash: KeyValue,
    pub range: Option<KeyValue>,
}

#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub created_ms: Millis,
    pub schema: KeySchema,
    /// AttributeDefinitions as given (name, type), for DescribeTable.
    pub attribute_definitions: Vec<(String, String)>,
    pub billing: Billing,
    pub billing_history: BillingHistory,
    pub throughput: Throughput,
    /// Tags by key (TagResource), in key order.
    pub tags: BTreeMap<String, String>,
    ttl: TimeToLive,
    /// (expiry in epoch milliseconds, key) of every item with a TTL attribute, while TTL is
    /// enabled.
    expiries: BTreeSet<(Millis, PrimaryKey)>,
    items: Items,
    item_count: usize,
    size_bytes: usize,
}

impl Table {
    pub fn new(
        name: String,
        arn: String,
        schema: KeySchema,
        attribute_definitions: Vec<(String, String)>,
        billing: Billing,
        now: Millis,
    ) -> Self {
        let items = match schema.range {
            None => Items::Hash(BTreeMap::new()),
            Some(_) => Items::Composite(BTreeMap::new()),
        };
        Self {
            name,
            arn,
            id: uuid::Uuid::new_v4().to_string(),
            created_ms: now,
            schema,
            attribute_definitions,
            billing,
            billing_history: BillingHistory::default(),
            throughput: Throughput::default(),
            tags: BTreeMap::new(),
            ttl: TimeToLive::default(),
            expiries: BTreeSet::new(),
            items,
            item_count: 0,
            size_bytes: 0,
        }
    }

    /// Charges capacity for a request (a no-op unless throughput is enforced).
    pub fn charge(
        &mut self,
        config: &DynamoDbConfig,
        kind: Kind,
        partition: Option<&KeyValue>,
        units: u64,
        now: Millis,
    ) -> Result<(), AwsError> {
        let cost = Cost {
            kind,
            partition,
            units,
        };
        self.throughput
            .charge(config, self.billing, &self.arn, cost, now)
    }

    pub fn item_count(&self) -> usize {
        self.item_count
    }

    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    /// The primary key of an item about to be written: every key attribute present, of its
    /// declared type, non-empty and within the key size limits.
    pub fn key_of_item(&self, item: &Item) -> Result<PrimaryKey, AwsError> {
        let hash = key_attr(item, &self.schema.hash, true)?;
        let range = match &self.schema.range {
            Some(attr) => Some(key_attr(item, attr, false)?),
            None => None,
        };
        Ok(PrimaryKey { hash, range })
    }

    /// The primary key named by a request's `Key`: exactly the key attributes, nothing else.
    pub fn key_of(&self, key: &Item) -> Result<PrimaryKey, AwsError> {
        let mismatch = || {
            aws_error!(
                ValidationException,
                "The provided key element does not match the schema"
            )
        };
        if key.len() != self.schema.names().len() {
            return Err(mismatch());
        }
        let value = |attr: &KeyAttr| -> Result<KeyValue, AwsError> {
            let v = key.get(&attr.name).ok_or_else(mismatch)?;
            if v.type_name() != attr.ty {
                return Err(mismatch());
            }
            key_attr(key, attr, true)
        };
        Ok(PrimaryKey {
            hash: value(&self.schema.hash)?,
            range: self.schema.range.as_ref().map(value).transpose()?,
        })
    }

    /// The key attributes of a key, as an item (LastEvaluatedKey, DeleteRequest keys).
    pub fn key_item(&self, key: &PrimaryKey) -> Item {
        let mut item = Item::new();
        item.insert(self.schema.hash.name.clone(), key.hash.to_attribute());
        if let (Some(attr), Some(range)) = (&self.schema.range, &key.range) {
            item.insert(attr.name.clone(), range.to_attribute());
        }
        item
    }

    /// The item under `key`, decoded.
    pub fn get(&self, key: &PrimaryKey) -> Option<Item> {
        self.stored(key).map(|s| s.decode(&self.schema, key))
    }

    /// The DynamoDB size of the item under `key` (no decode).
    pub fn size_of(&self, key: &PrimaryKey) -> Option<usize> {
        self.stored(key).map(Stored::size)
    }

    fn stored(&self, key: &PrimaryKey) -> Option<&Stored> {
        match (&self.items, &key.range) {
            (Items::Hash(items), None) => items.get(&key.hash),
            (Items::Composite(items), Some(range)) => items.get(&key.hash)?.get(range),
            // A key of the other shape names no item (keys are checked against the schema).
            _ => None,
        }
    }

    /// Stores an item, saying whether it replaced one.
    pub fn put(&mut self, key: PrimaryKey, item: Item) -> bool {
        let expiry = self.expiry_of(&item);
        let stored = Stored::encode(&item, &self.schema);
        self.size_bytes += stored.size();
        let old = match (&mut self.items, &key.range) {
            (Items::Hash(items), None) => items.insert(key.hash.clone(), stored),
            (Items::Composite(items), Some(range)) => items
                .entry(key.hash.clone())
                .or_default()
                .insert(range.clone(), stored),
            // key_of_item gives a sort key exactly when the schema has one.
            _ => {
                self.size_bytes -= stored.size();
                return false;
            }
        };
        match &old {
            Some(old) => self.forget(&key, old),
            None => self.item_count += 1,
        }
        if let Some(at) = expiry {
            self.expiries.insert((at, key));
        }
        old.is_some()
    }

    /// Deletes the item under `key`, saying whether there was one.
    pub fn remove(&mut self, key: &PrimaryKey) -> bool {
        let old = match (&mut self.items, &key.range) {
            (Items::Hash(items), None) => items.remove(&key.hash),
            (Items::Composite(items), Some(range)) => {
                let Some(partition) = items.get_mut(&key.hash) else {
                    return false;
                };
                let old = partition.remove(range);
                if partition.is_empty() {
                    items.remove(&key.hash);
                }
                old
            }
            _ => None,
        };
        let Some(old) = old else {
            return false;
        };
        self.item_count -= 1;
        self.forget(key, &old);
        true
    }

    /// Accounts for an item that left the table (replaced or deleted).
    fn forget(&mut self, key: &PrimaryKey, old: &Stored) {
        self.size_bytes -= old.size();
        if self.ttl.enabled
            && let Some(at) = self.expiry_of(&old.decode(&self.schema, key))
        {
            self.expiries.remove(&(at, key.clone()));
        }
    }

    pub fn time_to_live(&self) -> &TimeToLive {
        &self.ttl
    }

    /// Enables or disables Time to Live on `attribute` (the caller checked AWS's rules).
    pub fn set_time_to_live(&mut self, attribute: String, enabled: bool, now: Millis) {
        self.ttl = TimeToLive {
            attribute: Some(attribute),
            enabled,
            changed_at: Some(now),
        };
        self.expiries.clear();
        if enabled {
            let expiries: Vec<(Millis, PrimaryKey)> = self
                .scan_after(None)
                .filter_map(|(key, item)| Some((self.expiry_of(&item)?, key)))
                .collect();
            self.expiries.extend(expiries);
        }
    }

    /// Deletes the items whose TTL attribute is before `now`. AWS deletes expired items in the
    /// background, typically within two days; the emulator deletes them at a deterministic
    /// point instead: before the first request on the table once their time has passed.
    pub fn expire(&mut self, now: Millis) -> usize {
        let mut deleted = 0;
        while let Some((at, _)) = self.expiries.first() {
            if *at >= now {
                break;
            }
            let Some((_, key)) = self.expiries.pop_first() else {
                break;
            };
            if self.remove(&key) {
                deleted += 1;
            }
        }
        deleted
    }

    /// When an item expires, in epoch milliseconds: its TTL attribute, a Number of epoch
    /// seconds, while TTL is enabled. Items without it, or with another type, never expire
    /// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html).
    fn expiry_of(&self, item: &Item) -> Option<Millis> {
        if !self.ttl.enabled {
            return None;
        }
        match item.get(self.ttl.attribute.as_deref()?)? {
            AttributeValue::N(n) => {
                let seconds: f64 = n.to_string().parse().ok()?;
                Some((seconds * 1000.0).floor() as Millis)
            }
            _ => None,
        }
    }

    /// The items of one partition whose sort key lies within `range`, in sort-key order
    /// (reversed when `forward` is false), decoded.
    pub fn partition(
        &self,
        hash: &KeyValue,
        range: (Bound<Option<KeyValue>>, Bound<Option<KeyValue>>),
        forward: bool,
    ) -> Box<dyn Iterator<Item = (Option<KeyValue>, Item)> + '_> {
        let empty = || -> Box<dyn Iterator<Item = _>> { Box::new(std::iter::empty()) };
        match &self.items {
            // The one item of a partition has no sort key: it is in range if `None` is.
            Items::Hash(items) => match items.get(hash) {
                Some(stored) if range.contains(&None) => {
                    let key = PrimaryKey {
                        hash: hash.clone(),
                        range: None,
                    };
                    Box::new(std::iter::once((None, stored.decode(&self.schema, &key))))
                }
                _ => empty(),
            },
            Items::Composite(items) => {
                let Some(partition) = items.get(hash) else {
                    return empty();
                };
                // Every stored sort key is `Some`, above a `None` bound.
                let lower = match range.0 {
                    Bound::Included(Some(k)) => Bound::Included(k),
                    Bound::Excluded(Some(k)) => Bound::Excluded(k),
                    _ => Bound::Unbounded,
                };
                let upper = match range.1 {
                    Bound::Included(Some(k)) => Bound::Included(k),
                    Bound::Excluded(Some(k)) => Bound::Excluded(k),
                    Bound::Unbounded => Bound::Unbounded,
                    Bound::Included(None) | Bound::Excluded(None) => return empty(),
                };
                let hash = hash.clone();
                let iter = partition.range((lower, upper)).map(move |(range, stored)| {
                    let key = PrimaryKey {
                        hash: hash.clone(),
                        range: Some(range.clone()),
                    };
                    let item = stored.decode(&self.schema, &key);
                    (key.range, item)
                });
                if forward {
                    Box::new(iter)
                } else {
                    Box::new(iter.rev())
                }
            }
        }
    }

    /// Every item in key order, starting after `after` when given (Scan pagination), decoded.
    pub fn scan_after(
        &self,
        after: Option<&PrimaryKey>,
    ) -> Box<dyn Iterator<Item = (PrimaryKey, Item)> + '_> {
        let start = match after {
            Some(k) => Bound::Included(k.hash.clone()),
            None => Bound::Unbounded,
        };
        let after = after.cloned();
        let keys: Box<dyn Iterator<Item = (PrimaryKey, &Stored)>> = match &self.items {
            Items::Hash(items) => Box::new(items.range((start, Bound::Unbounded)).map(
                |(hash, stored)| {
                    let key = PrimaryKey {
                        hash: hash.clone(),
                        range: None,
                    };
                    (key, stored)
                },
            )),
            Items::Composite(items) => Box::new(items.range((start, Bound::Unbounded)).flat_map(
                |(hash, partition)| {
                    partition.iter().map(move |(range, stored)| {
                        let key = PrimaryKey {
                            hash: hash.clone(),
                            range: Some(range.clone()),
                        };
                        (key, stored)
                    })
                },
            )),
        };
        Box::new(
            keys.skip_while(move |(key, _)| after.as_ref().is_some_and(|a| key <= a))
                .map(|(key, stored)| {
                    let item = stored.decode(&self.schema, &key);
                    (key, item)
                }),
        )
    }
}

/// A table's items by primary key, encoded.
#[derive(Debug)]
enum Items {
    /// No sort key: one map by partition key (not a map of one-item partitions).
    Hash(BTreeMap<KeyValue, Stored>),
    /// Partitions by partition key, each in sort-key order.
    Composite(BTreeMap<KeyValue, BTreeMap<KeyValue, Stored>>),
}

fn key_attr(item: &Item, attr: &KeyAttr, is_hash: bool) -> Result<KeyValue, AwsError> {
    let invalid = |m: String| {
        aws_error!(
            ValidationException,
            "One or more parameter values were invalid: {m}"
        )
    };
    let value = item
        .get(&attr.name)
        .ok_or_else(|| invalid(format!("Missing the key {} in the item", attr.name)))?;
    if value.type_name() != attr.ty {
        return Err(invalid(format!(
            "Type mismatch for key {} expected: {} actual: {}",
            attr.name,
            attr.ty,
            value.type_name()
        )));
    }
    let empty = match value {
        AttributeValue::S(s) => s.is_empty(),
        AttributeValue::B(b) => b.is_empty(),
        _ => false,
    };
    if empty {
        let kind = if matches!(value, AttributeValue::S(_)) {
            "string"
        } else {
            "binary"
        };
        return Err(aws_error!(
            ValidationException,
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {}",
            attr.name
        ));
    }
    let key = KeyValue::from_attribute(value)
        .ok_or_else(|| invalid(format!("Type mismatch for key {}", attr.name)))?;
    if is_hash && key.size() > MAX_HASH_KEY {
        return Err(invalid(format!(
            "Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY} bytes"
        )));
    }
    if !is_hash && key.size() > MAX_RANGE_KEY {
        return Err(invalid(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_RANGE_KEY} bytes"
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dynamodb::value::{item_from_json, item_size};

    fn table() -> Table {
        Table::new(
            "t".into(),
            "arn".into(),
            KeySchema {
                hash: KeyAttr {
                    name: "pk".into(),
                    ty: "S",
                },
                range: Some(KeyAttr {
                    name: "sk".into(),
                    ty: "N",
                }),
            },
            vec![],
            Billing::PayPerRequest,
            0,
        )
    }

    fn item(pk: &str, sk: &str) -> Item {
        item_from_json(
            json!({"pk": {"S": pk}, "sk": {"N": sk}, "x": {"S": "y"}})
                .as_object()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn partitions_are_kept_in_sort_key_order() {
        let mut t = table();
        for sk in ["10", "9", "-1", "2.5"] {
            let it = item("a", sk);
            let key = t.key_of_item(&it).unwrap();
            t.put(key, it);
        }
        let it = item("b", "0");
        t.put(t.key_of_item(&it).unwrap(), it);
        let hash = KeyValue::S("a".into());
        let order: Vec<String> = t
            .partition(&hash, (Bound::Unbounded, Bound::Unbounded), true)
            .map(|(k, _)| match k {
                Some(KeyValue::N(n)) => n.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, ["-1", "2.5", "9", "10"]);
        assert_eq!(t.item_count(), 5);
        let all: Vec<_> = t.scan_after(None).collect();
        assert_eq!(all.len(), 5);
        let after = t.scan_after(Some(&all[3].0)).count();
        assert_eq!(after, 1);
    }

    #[test]
    fn counts_follow_puts_and_removes() {
        let mut t = table();
        let it = item("a", "1");
        let key = t.key_of_item(&it).unwrap();
        assert!(!t.put(key.clone(), it.clone()));
        assert!(t.put(key.clone(), it.clone()));
        assert_eq!((t.item_count(), t.size_bytes()), (1, item_size(&it)));
        assert_eq!(t.size_of(&key), Some(item_size(&it)));
        assert!(t.remove(&key));
        assert!(!t.remove(&key));
        assert_eq!((t.item_count(), t.size_bytes()), (0, 0));
    }

    #[test]
    fn keys_are_validated_like_aws() {
        let t = table();
        let err = |v: serde_json::Value| {
            t.key_of_item(&item_from_json(v.as_object().unwrap()).unwrap())
                .unwrap_err()
                .message
        };
        assert_eq!(
            err(json!({"sk": {"N": "1"}})),
            "One or more parameter values were invalid: Missing the key pk in the item"
        );
        assert_eq!(
            err(json!({"pk": {"N": "1"}, "sk": {"N": "1"}})),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
        );
        assert!(err(json!({"pk": {"S": ""}, "sk": {"N": "1"}})).contains("empty string value"));
        let key = |v: serde_json::Value| t.key_of(&item_from_json(v.as_object().unwrap()).unwrap());
        assert!(key(json!({"pk": {"S": "a"}})).is_err());
        assert!(key(json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}})).is_err());
        assert!(key(json!({"pk": {"S": "a"}, "sk": {"S": "1"}})).is_err());
        assert!(key(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})).is_ok());
    }
}
