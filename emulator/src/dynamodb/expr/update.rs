//! Applying an UpdateExpression to an item: SET (with `+`, `-`, `if_not_exists`,
//! `list_append`), REMOVE, ADD (numbers and sets) and DELETE (sets), on nested paths.
//!
//! As in DynamoDB every operand is read from the item as it was before the update, and the
//! paths an expression writes may not overlap (checked by [`validate`]).

use super::eval::resolve;
use super::{Path, PathElem, SetValue, UpdateExpr, UpdateOperand};
use crate::aws_error;
use crate::dynamodb::value::{AttributeValue, Item};
use crate::error::AwsError;

fn missing_attribute() -> AwsError {
    aws_error!(
        ValidationException,
        "The provided expression refers to an attribute that does not exist in the item"
    )
}

fn wrong_type() -> AwsError {
    aws_error!(
        ValidationException,
        "An operand in the update expression has an incorrect data type"
    )
}

fn bad_path() -> AwsError {
    aws_error!(
        ValidationException,
        "The document path provided in the update expression is invalid for update"
    )
}

/// Rejects updates of key attributes and overlapping or conflicting paths.
pub fn validate(update: &UpdateExpr, key_names: &[&str]) -> Result<(), AwsError> {
    let targets = update.targets();
    for path in &targets {
        if key_names.contains(&path.root()) {
            return Err(aws_error!(
                ValidationException,
                "One or more parameter values were invalid: Cannot update attribute {}. This attribute is part of the key",
                path.root()
            ));
        }
    }
    super::check_overlaps(&targets).map_err(|message| {
        aws_error!(ValidationException, "Invalid UpdateExpression: {message}")
    })?;
    Ok(())
}

fn operand(item: &Item, op: &UpdateOperand) -> Result<AttributeValue, AwsError> {
    match op {
        UpdateOperand::Value(v) => Ok(v.clone()),
        UpdateOperand::Path(p) => resolve(item, p).cloned().ok_or_else(missing_attribute),
        UpdateOperand::IfNotExists(p, fallback) => match resolve(item, p) {
            Some(v) => Ok(v.clone()),
            None => operand(item, fallback),
        },
        UpdateOperand::ListAppend(a, b) => match (operand(item, a)?, operand(item, b)?) {
            (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                a.extend(b);
                Ok(AttributeValue::L(a))
            }
            _ => Err(wrong_type()),
        },
    }
}

fn arithmetic(
    item: &Item,
    a: &UpdateOperand,
    b: &UpdateOperand,
    plus: bool,
) -> Result<AttributeValue, AwsError> {
    match (operand(item, a)?, operand(item, b)?) {
        (AttributeValue::N(x), AttributeValue::N(y)) => {
            let result = if plus { x.add(&y) } else { x.sub(&y) };
            result
                .map(AttributeValue::N)
                .map_err(|e| aws_error!(ValidationException, "{e}"))
        }
        _ => Err(wrong_type()),
    }
}

/// The item after the update. `old` is the stored item (empty if there is none).
pub fn apply(update: &UpdateExpr, old: &Item) -> Result<Item, AwsError> {
    let mut values = Vec::with_capacity(update.set.len());
    for (path, value) in &update.set {
        let value = match value {
            SetValue::Operand(op) => operand(old, op)?,
            SetValue::Plus(a, b) => arithmetic(old, a, b, true)?,
            SetValue::Minus(a, b) => arithmetic(old, a, b, false)?,
        };
        values.push((path, value));
    }
    let mut item = old.clone();
    for (path, value) in values {
        set_path(&mut item, path, value)?;
    }
    // Highest list indexes first, so earlier removals do not shift later ones.
    let mut removals: Vec<&Path> = update.remove.iter().collect();
    removals.sort_by(|a, b| b.cmp(a));
    for path in removals {
        remove_path(&mut item, path)?;
    }
    for (path, value) in &update.add {
        let sum = match (resolve(old, path), value) {
            (None, v) => v.clone(),
            (Some(AttributeValue::N(x)), AttributeValue::N(y)) => AttributeValue::N(
                x.add(y)
                    .map_err(|e| aws_error!(ValidationException, "{e}"))?,
            ),
            (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => AttributeValue::Ss(union(x, y)),
            (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => AttributeValue::Ns(union(x, y)),
            (Some(AttributeValue::Bs(x)), AttributeValue::Bs(y)) => AttributeValue::Bs(union(x, y)),
            _ => return Err(wrong_type()),
        };
        set_path(&mut item, path, sum)?;
    }
    for (path, value) in &update.delete {
        let left = match (resolve(old, path), value) {
            (None, _) => continue,
            (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => {
                minus(x, y).map(AttributeValue::Ss)
            }
            (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => {
                minus(x, y).map(AttributeValue::Ns)
            }
            (Some(AttributeValue::Bs(x)), AttributeValue::Bs(y)) => {
                minus(x, y).map(AttributeValue::Bs)
            }
            _ => return Err(wrong_type()),
        };
        match left {
            Some(set) => set_path(&mut item, path, set)?,
            None => remove_path(&mut item, path)?,
        }
    }
    Ok(item)
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// `a` without the elements of `b`; `None` when nothing is left (the attribute goes away).
fn minus<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Option<Vec<T>> {
    let out: Vec<T> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    (!out.is_empty()).then_some(out)
}

/// The container that holds the path's last element.
fn parent_mut<'a>(
    item: &'a mut Item,
    path: &Path,
) -> Result<Option<&'a mut AttributeValue>, AwsError> {
    let elems = &path.0;
    if elems.len() < 2 {
        return Ok(None);
    }
    let PathElem::Attr(root) = &elems[0] else {
        return Err(bad_path());
    };
    let mut current = item.get_mut(root).ok_or_else(bad_path)?;
    for elem in &elems[1..elems.len() - 1] {
        current = match (elem, current) {
            (PathElem::Attr(a), AttributeValue::M(m)) => m.get_mut(a).ok_or_else(bad_path)?,
            (PathElem::Index(i), AttributeValue::L(l)) => l.get_mut(*i).ok_or_else(bad_path)?,
            _ => return Err(bad_path()),
        };
    }
    Ok(Some(current))
}

fn set_path(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), AwsError> {
    let last = path.0.last().ok_or_else(bad_path)?;
    match (parent_mut(item, path)?, last) {
        (None, PathElem::Attr(name)) => {
            item.insert(name.clone(), value);
        }
        (Some(AttributeValue::M(m)), PathElem::Attr(name)) => {
            m.insert(name.clone(), value);
        }
        // An index past the end appends, as DynamoDB does.
        (Some(AttributeValue::L(l)), PathElem::Index(i)) => match l.get_mut(*i) {
            Some(slot) => *slot = value,
            None => l.push(value),
        },
        _ => return Err(bad_path()),
    }
    Ok(())
}

fn remove_path(item: &mut Item, path: &Path) -> Result<(), AwsError> {
    let last = path.0.last().ok_or_else(bad_path)?;
    match (parent_mut(item, path)?, last) {
        (None, PathElem::Attr(name)) => {
            item.remove(name);
        }
        (Some(AttributeValue::M(m)), PathElem::Attr(name)) => {
            m.remove(name);
        }
        (Some(AttributeValue::L(l)), PathElem::Index(i)) => {
            if *i < l.len() {
                l.remove(*i);
            }
        }
        _ => return Err(bad_path()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::dynamodb::expr::Symbols;
    use crate::dynamodb::expr::parser::parse_update;
    use crate::dynamodb::value::{item_from_json, item_to_json};

    fn item(v: Value) -> Item {
        item_from_json(v.as_object().unwrap()).unwrap()
    }

    fn run(expr: &str, old: Value) -> Result<Value, String> {
        let values = json!({
            ":one": {"N": "1"}, ":tenth": {"N": "0.1"}, ":fifth": {"N": "0.2"}, ":s": {"S": "new"},
            ":l": {"L": [{"S": "z"}]}, ":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["2"]}, ":n7": {"N": "7"}
        });
        let symbols = Symbols::new(None, values.as_object()).unwrap();
        let update = parse_update(expr, &symbols).map_err(|e| e.to_string())?;
        validate(&update, &["id"]).map_err(|e| e.message)?;
        apply(&update, &item(old))
            .map(|i| Value::Object(item_to_json(&i)))
            .map_err(|e| e.message)
    }

    #[test]
    fn set_with_arithmetic_is_exact() {
        assert_eq!(
            run(
                "SET a = :tenth + :fifth, b = c - :one",
                json!({"c": {"N": "10"}})
            )
            .unwrap(),
            json!({"a": {"N": "0.3"}, "b": {"N": "9"}, "c": {"N": "10"}})
        );
        assert_eq!(
            run("SET a = a + :one", json!({})).unwrap_err(),
            "The provided expression refers to an attribute that does not exist in the item"
        );
        assert_eq!(
            run("SET a = a + :one", json!({"a": {"S": "x"}})).unwrap_err(),
            "An operand in the update expression has an incorrect data type"
        );
    }

    #[test]
    fn if_not_exists_and_list_append() {
        assert_eq!(
            run(
                "SET a = if_not_exists(a, :one), b = if_not_exists(b, :one)",
                json!({"b": {"N": "5"}})
            )
            .unwrap(),
            json!({"a": {"N": "1"}, "b": {"N": "5"}})
        );
        assert_eq!(
            run("SET n = if_not_exists(n, :tenth) + :one", json!({})).unwrap(),
            json!({"n": {"N": "1.1"}})
        );
        assert_eq!(
            run(
                "SET l = list_append(l, :l), m = list_append(:l, l)",
                json!({"l": {"L": [{"S": "a"}]}})
            )
            .unwrap(),
            json!({"l": {"L": [{"S": "a"}, {"S": "z"}]}, "m": {"L": [{"S": "z"}, {"S": "a"}]}})
        );
    }

    #[test]
    fn operands_read_the_old_item() {
        assert_eq!(
            run(
                "SET a = b, b = a",
                json!({"a": {"N": "1"}, "b": {"N": "2"}})
            )
            .unwrap(),
            json!({"a": {"N": "2"}, "b": {"N": "1"}})
        );
    }

    #[test]
    fn nested_paths() {
        let old = json!({"m": {"M": {"l": {"L": [{"N": "1"}, {"M": {"x": {"S": "old"}}}]}}}});
        assert_eq!(
            run("SET m.l[1].x = :s, m.l[5] = :one, m.k = :s", old.clone()).unwrap(),
            json!({"m": {"M": {"k": {"S": "new"}, "l": {"L": [{"N": "1"}, {"M": {"x": {"S": "new"}}}, {"N": "1"}]}}}})
        );
        assert_eq!(
            run("REMOVE m.l[0]", old.clone()).unwrap(),
            json!({"m": {"M": {"l": {"L": [{"M": {"x": {"S": "old"}}}]}}}})
        );
        assert_eq!(
            run("SET nope.x = :s", old).unwrap_err(),
            "The document path provided in the update expression is invalid for update"
        );
        assert_eq!(
            run(
                "REMOVE l[0], l[2]",
                json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}]}})
            )
            .unwrap(),
            json!({"l": {"L": [{"N": "1"}]}})
        );
    }

    #[test]
    fn add_and_delete() {
        assert_eq!(
            run(
                "ADD n :n7, fresh :one, ss :ss, ns :ns",
                json!({"n": {"N": "1"}, "ss": {"SS": ["a", "b"]}})
            )
            .unwrap(),
            json!({"n": {"N": "8"}, "fresh": {"N": "1"}, "ss": {"SS": ["a", "b", "c"]}, "ns": {"NS": ["2"]}})
        );
        assert_eq!(
            run("DELETE ss :ss", json!({"ss": {"SS": ["a", "b"]}})).unwrap(),
            json!({"ss": {"SS": ["a"]}})
        );
        assert_eq!(
            run("DELETE ss :ss", json!({"ss": {"SS": ["b", "c"]}})).unwrap(),
            json!({})
        );
        assert_eq!(
            run("ADD s :one", json!({"s": {"S": "x"}})).unwrap_err(),
            "An operand in the update expression has an incorrect data type"
        );
        assert_eq!(
            run("REMOVE a, b", json!({"a": {"N": "1"}})).unwrap(),
            json!({})
        );
    }

    #[test]
    fn rejects_keys_and_overlaps() {
        assert_eq!(
            run("SET id = :s", json!({})).unwrap_err(),
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key"
        );
        assert!(
            run("SET a = :s REMOVE a.b", json!({}))
                .unwrap_err()
                .contains("overlap")
        );
        assert!(
            run("SET a = :s REMOVE a", json!({}))
                .unwrap_err()
                .contains("overlap")
        );
        assert!(
            run("SET m.x = :s, m[0] = :s", json!({}))
                .unwrap_err()
                .contains("conflict")
        );
    }
}
