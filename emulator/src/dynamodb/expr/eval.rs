//! Evaluating conditions against an item, reading document paths, and projections.
//!
//! As in DynamoDB, a comparison of values of different types (or with a missing attribute)
//! is simply false, never an error; `<>` is the negation of `=`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{Cmp, Condition, Operand, Path, PathElem};
use crate::dynamodb::number::Number;
use crate::dynamodb::value::{AttributeValue, Item};

/// The value at a document path, if the item has one there.
pub fn resolve<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let mut elems = path.0.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for elem in elems {
        current = match (elem, current) {
            (PathElem::Attr(name), AttributeValue::M(map)) => map.get(name)?,
            (PathElem::Index(i), AttributeValue::L(list)) => list.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Orders two scalars of the same type (N numerically, S and B bytewise); `None` otherwise.
pub fn compare(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn operand<'a>(item: &'a Item, op: &'a Operand) -> Option<std::borrow::Cow<'a, AttributeValue>> {
    use std::borrow::Cow;
    match op {
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Path(p) => resolve(item, p).map(Cow::Borrowed),
        Operand::Size(p) => size_of(resolve(item, p)?).map(Cow::Owned),
    }
}

/// `size(path)`: string length in bytes, binary length, element count of sets, lists, maps.
pub fn size_of(value: &AttributeValue) -> Option<AttributeValue> {
    let n = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        _ => return None,
    };
    n.to_string().parse::<Number>().ok().map(AttributeValue::N)
}

/// Whether `condition` holds for `item` (an absent item is the empty item).
pub fn evaluate(condition: &Condition, item: &Item) -> bool {
    match condition {
        Condition::Compare(a, cmp, b) => {
            let (a, b) = (operand(item, a), operand(item, b));
            match cmp {
                Cmp::Eq => matches!((a, b), (Some(a), Some(b)) if a == b),
                Cmp::Ne => !matches!((a, b), (Some(a), Some(b)) if a == b),
                _ => {
                    let Some(order) = a.zip(b).and_then(|(a, b)| compare(&a, &b)) else {
                        return false;
                    };
                    match cmp {
                        Cmp::Lt => order == Ordering::Less,
                        Cmp::Le => order != Ordering::Greater,
                        Cmp::Gt => order == Ordering::Greater,
                        _ => order != Ordering::Less,
                    }
                }
            }
        }
        Condition::Between(x, lo, hi) => {
            let (Some(x), Some(lo), Some(hi)) =
                (operand(item, x), operand(item, lo), operand(item, hi))
            else {
                return false;
            };
            compare(&x, &lo).is_some_and(|o| o != Ordering::Less)
                && compare(&x, &hi).is_some_and(|o| o != Ordering::Greater)
        }
        Condition::In(x, list) => {
            let Some(x) = operand(item, x) else {
                return false;
            };
            list.iter()
                .any(|candidate| operand(item, candidate).is_some_and(|c| *c == *x))
        }
        Condition::AttributeExists(p) => resolve(item, p).is_some(),
        Condition::AttributeNotExists(p) => resolve(item, p).is_none(),
        Condition::AttributeType(p, t) => {
            let wanted = operand(item, t);
            match (resolve(item, p), wanted.as_deref()) {
                (Some(v), Some(AttributeValue::S(t))) => v.type_name() == t,
                _ => false,
            }
        }
        Condition::BeginsWith(a, prefix) => match (operand(item, a), operand(item, prefix)) {
            (Some(a), Some(p)) => match (&*a, &*p) {
                (AttributeValue::S(a), AttributeValue::S(p)) => a.starts_with(p.as_str()),
                (AttributeValue::B(a), AttributeValue::B(p)) => a.starts_with(p),
                _ => false,
            },
            _ => false,
        },
        Condition::Contains(a, needle) => match (operand(item, a), operand(item, needle)) {
            (Some(a), Some(n)) => contains(&a, &n),
            _ => false,
        },
        Condition::And(a, b) => evaluate(a, item) && evaluate(b, item),
        Condition::Or(a, b) => evaluate(a, item) || evaluate(b, item),
        Condition::Not(a) => !evaluate(a, item),
    }
}

fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    use AttributeValue::*;
    match (haystack, needle) {
        (S(h), S(n)) => h.contains(n.as_str()),
        (B(h), B(n)) => n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice()),
        (Ss(set), S(n)) => set.contains(n),
        (Ns(set), N(n)) => set.contains(n),
        (Bs(set), B(n)) => set.contains(n),
        (L(list), n) => list.contains(n),
        _ => false,
    }
}

/// A tree of projected paths, so that `a.b, a.c` yields one map `a` with `b` and `c`.
#[derive(Default)]
struct Tree {
    whole: bool,
    attrs: BTreeMap<String, Tree>,
    indexes: BTreeMap<usize, Tree>,
}

/// The item reduced to the given document paths (ProjectionExpression). List elements picked
/// by index come back as a shorter list, in index order, as DynamoDB returns them.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root = Tree::default();
    for path in paths {
        let mut node = &mut root;
        for elem in &path.0 {
            node = match elem {
                PathElem::Attr(a) => node.attrs.entry(a.clone()).or_default(),
                PathElem::Index(i) => node.indexes.entry(*i).or_default(),
            };
        }
        node.whole = true;
    }
    root.attrs
        .iter()
        .filter_map(|(name, tree)| Some((name.clone(), pick(item.get(name)?, tree)?)))
        .collect()
}

fn pick(value: &AttributeValue, tree: &Tree) -> Option<AttributeValue> {
    if tree.whole {
        return Some(value.clone());
    }
    match value {
        AttributeValue::M(map) if !tree.attrs.is_empty() => {
            let picked: Item = tree
                .attrs
                .iter()
                .filter_map(|(k, t)| Some((k.clone(), pick(map.get(k)?, t)?)))
                .collect();
            (!picked.is_empty()).then_some(AttributeValue::M(picked))
        }
        AttributeValue::L(list) if !tree.indexes.is_empty() => {
            let picked: Vec<AttributeValue> = tree
                .indexes
                .iter()
                .filter_map(|(i, t)| pick(list.get(*i)?, t))
                .collect();
            (!picked.is_empty()).then_some(AttributeValue::L(picked))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dynamodb::expr::Symbols;
    use crate::dynamodb::expr::parser::{parse_condition, parse_projection};
    use crate::dynamodb::value::item_from_json;

    fn item() -> Item {
        item_from_json(
            json!({
                "id": {"S": "user#1"},
                "n": {"N": "10"},
                "s": {"S": "hello"},
                "b": {"B": "AQID"},
                "ss": {"SS": ["red", "blue"]},
                "ns": {"NS": ["1", "2"]},
                "l": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"deep": {"BOOL": true}}}]},
                "m": {"M": {"k": {"S": "v"}, "z": {"NULL": true}}},
                "flag": {"BOOL": false}
            })
            .as_object()
            .unwrap(),
        )
        .unwrap()
    }

    fn holds(expr: &str) -> bool {
        let values = json!({
            ":ten": {"N": "10"}, ":nine": {"N": "9"}, ":eleven": {"N": "11"}, ":str10": {"S": "10"},
            ":hel": {"S": "hel"}, ":ell": {"S": "ell"}, ":red": {"S": "red"}, ":one": {"N": "1"},
            ":x": {"S": "x"}, ":b12": {"B": "AQI="}, ":b3": {"B": "Aw=="}, ":three": {"N": "3"},
            ":tS": {"S": "S"}, ":tN": {"S": "N"}, ":tSS": {"S": "SS"}, ":tM": {"S": "M"}, ":tNULL": {"S": "NULL"},
            ":five": {"N": "5"}, ":two": {"N": "2"}, ":v": {"S": "v"}, ":a": {"S": "a"}, ":zz": {"S": "zz"}
        });
        let symbols = Symbols::new(None, values.as_object()).unwrap();
        evaluate(&parse_condition(expr, &symbols).unwrap(), &item())
    }

    #[test]
    fn comparators_follow_type_and_order() {
        assert!(holds("n = :ten"));
        assert!(!holds("n = :str10"), "different types are not equal");
        assert!(holds("n <> :str10"));
        assert!(holds("n <> :nine"));
        assert!(
            holds("n < :eleven") && holds("n <= :ten") && holds("n > :nine") && holds("n >= :ten")
        );
        assert!(
            !holds("n < :str10") && !holds("n > :str10"),
            "mismatched types compare false"
        );
        assert!(!holds("absent = :ten"));
        assert!(holds("absent <> :ten"));
        assert!(!holds("absent < :ten"));
        assert!(holds("s > :hel") && holds("s < :zz"));
        assert!(holds("b > :b12") && holds("b < :b3"));
        assert!(holds("m.k = :v") && holds("l[1] = :three") && holds("l[0] = :x"));
    }

    #[test]
    fn between_and_in() {
        assert!(holds("n BETWEEN :nine AND :eleven"));
        assert!(holds("n BETWEEN :ten AND :ten"));
        assert!(!holds("n BETWEEN :one AND :five"));
        assert!(!holds("s BETWEEN :one AND :five"));
        assert!(holds("n IN (:one, :ten)"));
        assert!(!holds("n IN (:one, :str10)"));
    }

    #[test]
    fn functions() {
        assert!(holds("attribute_exists(id) AND attribute_not_exists(nope)"));
        assert!(holds("attribute_exists(l[2].deep)") && !holds("attribute_exists(l[3])"));
        assert!(holds(
            "attribute_type(s, :tS) AND attribute_type(n, :tN) AND attribute_type(ss, :tSS)"
        ));
        assert!(holds(
            "attribute_type(m, :tM) AND attribute_type(m.z, :tNULL)"
        ));
        assert!(!holds("attribute_type(s, :tN)") && !holds("attribute_type(nope, :tS)"));
        assert!(holds("begins_with(s, :hel)") && !holds("begins_with(s, :ell)"));
        assert!(holds("begins_with(b, :b12)") && !holds("begins_with(n, :hel)"));
        assert!(holds(
            "contains(s, :ell) AND contains(ss, :red) AND contains(ns, :one)"
        ));
        assert!(holds("contains(l, :x) AND contains(l, :three)"));
        assert!(!holds("contains(ss, :one)") && !holds("contains(n, :one)"));
        assert!(holds(
            "size(s) = :five AND size(ss) = :two AND size(l) = :three AND size(m) = :two"
        ));
        assert!(holds("size(b) = :three"));
        assert!(!holds("size(n) = :two") && !holds("size(nope) = :two"));
    }

    #[test]
    fn boolean_logic() {
        assert!(holds("NOT n = :nine"));
        assert!(!holds("n = :nine OR n = :ten AND s = :hel OR s = :x"));
        assert!(
            holds("n = :ten OR n = :nine AND s = :x"),
            "AND binds tighter than OR"
        );
        assert!(!holds("(n = :ten OR n = :nine) AND s = :x"));
        assert!(!holds("NOT (n = :ten OR n = :nine)"));
    }

    #[test]
    fn projection_keeps_requested_paths() {
        let symbols = Symbols::default();
        let paths = parse_projection("id, m.k, l[2].deep, l[0], nope, s.x", &symbols).unwrap();
        let projected = project(&item(), &paths);
        let expected = item_from_json(
            json!({
                "id": {"S": "user#1"},
                "m": {"M": {"k": {"S": "v"}}},
                "l": {"L": [{"S": "x"}, {"M": {"deep": {"BOOL": true}}}]}
            })
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(projected, expected);
    }
}
