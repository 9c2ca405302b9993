//! Key conditions (KeyConditionExpression): checking them against the key schema as AWS
//! does, and turning them into the partition key and the sort-key range a Query reads.

use std::ops::Bound;

use super::expr::{Cmp, Condition, Operand, Path, PathElem};
use super::table::Table;
use super::value::{AttributeValue, KeyValue};
use crate::aws_error;
use crate::error::AwsError;

/// A sort-key range, as `BTreeMap::range` takes it.
pub type RangeBounds = (Bound<Option<KeyValue>>, Bound<Option<KeyValue>>);

fn validation(message: impl std::fmt::Display) -> AwsError {
    aws_error!(ValidationException, "{message}")
}

/// A key condition's constraint on one key attribute.
enum KeyCond {
    Cmp(Cmp, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

fn bad_operator(op: &str) -> AwsError {
    validation(format!(
        "Invalid operator used in KeyConditionExpression: {op}"
    ))
}

fn key_attribute(operand: &Operand) -> Result<&str, AwsError> {
    match operand {
        Operand::Path(Path(elems)) => match elems.as_slice() {
            [PathElem::Attr(name)] => Ok(name),
            _ => Err(validation(
                "KeyConditionExpressions cannot have conditions on nested attributes",
            )),
        },
        Operand::Size(_) => Err(bad_operator("size")),
        Operand::Value(_) => Err(validation(
            "Invalid KeyConditionExpression: The expression compares two constants or has no attribute reference",
        )),
    }
}

fn constant(operand: &Operand) -> Result<AttributeValue, AwsError> {
    match operand {
        Operand::Value(v) => Ok(v.clone()),
        _ => Err(validation(
            "Invalid KeyConditionExpression: Key conditions must compare a key attribute with a value",
        )),
    }
}

fn flatten<'c>(
    condition: &'c Condition,
    out: &mut Vec<(&'c str, KeyCond)>,
) -> Result<(), AwsError> {
    let flipped = |cmp: Cmp| match cmp {
        Cmp::Lt => Cmp::Gt,
        Cmp::Le => Cmp::Ge,
        Cmp::Gt => Cmp::Lt,
        Cmp::Ge => Cmp::Le,
        other => other,
    };
    match condition {
        Condition::And(a, b) => {
            flatten(a, out)?;
            flatten(b, out)?;
        }
        Condition::Compare(_, Cmp::Ne, _) => return Err(bad_operator("<>")),
        Condition::Compare(a, cmp, b) => match (a, b) {
            (Operand::Value(_), _) => {
                out.push((key_attribute(b)?, KeyCond::Cmp(flipped(*cmp), constant(a)?)))
            }
            _ => out.push((key_attribute(a)?, KeyCond::Cmp(*cmp, constant(b)?))),
        },
        Condition::Between(a, lo, hi) => out.push((
            key_attribute(a)?,
            KeyCond::Between(constant(lo)?, constant(hi)?),
        )),
        Condition::BeginsWith(a, prefix) => {
            out.push((key_attribute(a)?, KeyCond::BeginsWith(constant(prefix)?)))
        }
        Condition::Or(..) => return Err(bad_operator("OR")),
        Condition::Not(..) => return Err(bad_operator("NOT")),
        Condition::In(..) => return Err(bad_operator("IN")),
        Condition::AttributeExists(_) => return Err(bad_operator("attribute_exists")),
        Condition::AttributeNotExists(_) => return Err(bad_operator("attribute_not_exists")),
        Condition::AttributeType(..) => return Err(bad_operator("attribute_type")),
        Condition::Contains(..) => return Err(bad_operator("contains")),
    }
    Ok(())
}

/// The partition key value and the sort-key range a key condition selects.
pub fn key_range(
    table: &Table,
    condition: Option<&Condition>,
) -> Result<(KeyValue, RangeBounds), AwsError> {
    let schema = &table.schema;
    let mut conjuncts = Vec::new();
    if let Some(c) = condition {
        flatten(c, &mut conjuncts)?;
    }
    let repeated = conjuncts
        .iter()
        .enumerate()
        .any(|(i, (name, _))| conjuncts[..i].iter().any(|(n, _)| n == name));
    if repeated {
        return Err(validation(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    if conjuncts.len() > 2 {
        return Err(validation("Conditions can be of length 1 or 2 only"));
    }
    let typed = |value: &AttributeValue, ty: &str| -> Result<KeyValue, AwsError> {
        match KeyValue::from_attribute(value) {
            Some(k) if value.type_name() == ty => Ok(k),
            _ => Err(validation(
                "One or more parameter values were invalid: Condition parameter type does not match schema type",
            )),
        }
    };
    let mut hash = None;
    let mut range: RangeBounds = (Bound::Unbounded, Bound::Unbounded);
    for (name, cond) in conjuncts {
        if name == schema.hash.name {
            let KeyCond::Cmp(Cmp::Eq, value) = cond else {
                return Err(validation("Query key condition not supported"));
            };
            hash = Some(typed(&value, schema.hash.ty)?);
            continue;
        }
        let Some(attr) = schema.range.as_ref().filter(|r| r.name == name) else {
            // A condition on a non-key attribute: AWS names the key element it expected.
            let expected = schema.range.as_ref().unwrap_or(&schema.hash);
            return Err(validation(format!(
                "Query condition missed key schema element: {}",
                expected.name
            )));
        };
        let key = |v: &AttributeValue| typed(v, attr.ty).map(Some);
        range = match cond {
            KeyCond::Cmp(Cmp::Eq, v) => (Bound::Included(key(&v)?), Bound::Included(key(&v)?)),
            KeyCond::Cmp(Cmp::Lt, v) => (Bound::Unbounded, Bound::Excluded(key(&v)?)),
            KeyCond::Cmp(Cmp::Le, v) => (Bound::Unbounded, Bound::Included(key(&v)?)),
            KeyCond::Cmp(Cmp::Gt, v) => (Bound::Excluded(key(&v)?), Bound::Unbounded),
            KeyCond::Cmp(_, v) => (Bound::Included(key(&v)?), Bound::Unbounded),
            KeyCond::Between(lo, hi) => (Bound::Included(key(&lo)?), Bound::Included(key(&hi)?)),
            KeyCond::BeginsWith(prefix) => {
                let prefix = typed(&prefix, attr.ty)?;
                let upper = match prefix_successor(&prefix) {
                    Some(next) => Bound::Excluded(Some(next)),
                    None => Bound::Unbounded,
                };
                (Bound::Included(Some(prefix)), upper)
            }
        };
    }
    let hash = hash.ok_or_else(|| {
        validation(format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        ))
    })?;
    Ok((hash, range))
}

/// The smallest key greater than every key starting with `prefix` (exclusive upper bound
/// of begins_with), if there is one. Strings order by UTF-8 bytes, which is code point order.
fn prefix_successor(prefix: &KeyValue) -> Option<KeyValue> {
    match prefix {
        KeyValue::S(s) => {
            let mut chars: Vec<char> = s.chars().collect();
            while let Some(last) = chars.pop() {
                let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
                if let Some(next) = next {
                    chars.push(next);
                    return Some(KeyValue::S(chars.into_iter().collect()));
                }
            }
            None
        }
        KeyValue::B(b) => {
            let mut bytes = b.clone();
            while let Some(last) = bytes.pop() {
                if last < u8::MAX {
                    bytes.push(last + 1);
                    return Some(KeyValue::B(bytes));
                }
            }
            None
        }
        KeyValue::N(_) => None,
    }
}

pub fn tighter_lower(
    a: Bound<Option<KeyValue>>,
    b: Bound<Option<KeyValue>>,
) -> Bound<Option<KeyValue>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x > y {
                a
            } else {
                b
            }
        }
        (Excluded(_), _) => a,
        _ => b,
    }
}

pub fn tighter_upper(
    a: Bound<Option<KeyValue>>,
    b: Bound<Option<KeyValue>>,
) -> Bound<Option<KeyValue>> {
    use Bound::*;
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) if x != y => {
            if x < y {
                a
            } else {
                b
            }
        }
        (Excluded(_), _) => a,
        _ => b,
    }
}

/// Whether a range selects nothing (`BTreeMap::range` would panic on some of these).
pub fn is_empty(range: &RangeBounds) -> bool {
    use Bound::*;
    match range {
        (Included(lo) | Excluded(lo), Included(hi) | Excluded(hi)) => {
            lo > hi || (lo == hi && !matches!(range, (Included(_), Included(_))))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<KeyValue> {
        Some(KeyValue::S(v.into()))
    }

    #[test]
    fn begins_with_has_a_tight_upper_bound() {
        assert_eq!(prefix_successor(&KeyValue::S("ab".into())), s("ac"));
        assert_eq!(prefix_successor(&KeyValue::S("a\u{10FFFF}".into())), s("b"));
        assert_eq!(
            prefix_successor(&KeyValue::B(vec![1, 255])),
            Some(KeyValue::B(vec![2]))
        );
        assert_eq!(prefix_successor(&KeyValue::B(vec![255])), None);
    }

    #[test]
    fn bounds_combine_to_the_tighter_one() {
        use Bound::*;
        assert_eq!(
            tighter_lower(Included(s("b")), Excluded(s("a"))),
            Included(s("b"))
        );
        assert_eq!(
            tighter_lower(Included(s("a")), Excluded(s("a"))),
            Excluded(s("a"))
        );
        assert_eq!(tighter_upper(Unbounded, Excluded(s("a"))), Excluded(s("a")));
        assert_eq!(
            tighter_upper(Included(s("b")), Excluded(s("c"))),
            Included(s("b"))
        );
        assert!(is_empty(&(Excluded(s("a")), Excluded(s("a")))));
        assert!(is_empty(&(Included(s("b")), Included(s("a")))));
        assert!(!is_empty(&(Included(s("a")), Included(s("a")))));
    }
}
