//! DynamoDB's expression language, parser and evaluator: condition (and filter) expressions
//! evaluated on an item, update expressions applied to it, projections taken from it, key
//! conditions turned into a Query's key range on a table keyed `pk` (S) + `sk` (N).
//!
//! An input is `<kind>\n<expression>`, optionally followed by `\n\0` and bytes that
//! `arbitrary` turns into the item (attribute names drawn from the ones the symbols and the
//! dictionary use, values of every type, nested), so evaluation meets every shape of item,
//! not one fixed item. `<kind>` is `condition`, `update`, `projection` or `key`; anything
//! else runs the expression through all four. Replaces nothing: the property tests in
//! `emulator/src/dynamodb/expr/fuzz.rs` stay as the quick in-suite check.
//!
//! Checked: no panic, no hang; an update's result is an item DynamoDB could hold (it
//! serialises back to valid AttributeValue JSON).

#![no_main]

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use emulator::dynamodb::expr::Symbols;
use emulator::dynamodb::expr::eval::{evaluate, project};
use emulator::dynamodb::expr::parser::{parse_condition, parse_projection, parse_update};
use emulator::dynamodb::expr::update::apply;
use emulator::dynamodb::key_condition::key_range;
use emulator::dynamodb::table::{Billing, KeyAttr, KeySchema, Table};
use emulator::dynamodb::value::{AttributeValue, Item, item_from_json, item_to_json};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// Attribute names items are built from: the ones expressions can name (bare or via `#`).
const NAMES: [&str; 8] = ["a", "b", "l", "m", "n", "pk", "sk", "status"];

/// An attribute value as `arbitrary` builds it; turned into DynamoDB JSON, so what the
/// emulator rejects (an empty set, a malformed number) is rejected as it would be on the wire.
#[derive(Arbitrary, Debug)]
enum Av {
    S(String),
    N(i64, i8),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<Av>),
    M(Vec<(u8, Av)>),
    Ss(Vec<String>),
    Ns(Vec<i32>),
    Bs(Vec<Vec<u8>>),
}

impl Av {
    fn to_json(&self, depth: usize) -> Value {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        match self {
            _ if depth > 6 => json!({"NULL": true}),
            Av::S(s) => json!({"S": s}),
            Av::N(m, e) => json!({"N": format!("{m}e{e}")}),
            Av::B(b) => json!({"B": b64(b)}),
            Av::Bool(b) => json!({"BOOL": b}),
            Av::Null => json!({"NULL": true}),
            Av::L(l) => json!({"L": l.iter().map(|v| v.to_json(depth + 1)).collect::<Vec<_>>()}),
            Av::M(m) => json!({"M": map(m, depth + 1)}),
            Av::Ss(s) => json!({"SS": s}),
            Av::Ns(n) => json!({"NS": n.iter().map(i32::to_string).collect::<Vec<_>>()}),
            Av::Bs(b) => json!({"BS": b.iter().map(|b| b64(b)).collect::<Vec<_>>()}),
        }
    }
}

fn map(entries: &[(u8, Av)], depth: usize) -> serde_json::Map<String, Value> {
    entries
        .iter()
        .map(|(k, v)| {
            (
                NAMES[*k as usize % NAMES.len()].to_owned(),
                v.to_json(depth),
            )
        })
        .collect()
}

fn default_item() -> Item {
    let item = json!({
        "pk": {"S": "p"}, "sk": {"N": "1"}, "a": {"N": "1"}, "status": {"S": "new"},
        "l": {"L": [{"N": "2"}, {"S": "x"}]}, "m": {"M": {"a": {"S": "x"}, "n": {"NS": ["1"]}}},
    });
    item_from_json(item.as_object().expect("an object")).expect("a valid item")
}

fn symbols() -> Symbols {
    let names: HashMap<String, String> = NAMES
        .iter()
        .map(|n| (format!("#{n}"), (*n).to_owned()))
        .collect();
    let values = json!({
        ":v": {"N": "1"}, ":w": {"N": "-2.5e3"}, ":s": {"S": "x"}, ":e": {"S": ""},
        ":b": {"B": "AQI="}, ":t": {"BOOL": true}, ":z": {"NULL": true},
        ":ss": {"SS": ["x", "y"]}, ":ns": {"NS": ["1", "2"]}, ":bs": {"BS": ["AQ=="]},
        ":l": {"L": [{"S": "a"}]}, ":m": {"M": {"a": {"N": "1"}}},
    });
    Symbols::new(Some(&names), values.as_object()).expect("valid symbols")
}

fn table() -> Table {
    let attr = |name: &str, ty| KeyAttr {
        name: name.to_owned(),
        ty,
    };
    let schema = KeySchema {
        hash: attr("pk", "S"),
        range: Some(attr("sk", "N")),
    };
    let definitions = vec![
        ("pk".to_owned(), "S".to_owned()),
        ("sk".to_owned(), "N".to_owned()),
    ];
    Table::new(
        "t".into(),
        "arn:aws:dynamodb:us-east-1:000000000000:table/t".into(),
        schema,
        definitions,
        Billing::PayPerRequest,
        0,
    )
}

fuzz_target!(|data: &[u8]| {
    let (head, tail) = match data.windows(2).position(|w| w == b"\n\0") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let (kind, source) = head.split_once('\n').unwrap_or(("", head));
    let item = match Vec::<(u8, Av)>::arbitrary_take_rest(Unstructured::new(tail)) {
        Ok(entries) if !tail.is_empty() => {
            item_from_json(&map(&entries, 0)).unwrap_or_else(|_| default_item())
        }
        _ => default_item(),
    };
    let symbols = symbols();
    let all = !matches!(kind, "condition" | "update" | "projection" | "key");
    if all || kind == "condition" {
        if let Ok(condition) = parse_condition(source, &symbols) {
            evaluate(&condition, &item);
        }
    }
    if all || kind == "key" {
        if let Ok(condition) = parse_condition(source, &symbols) {
            let _ = key_range(&table(), Some(&condition));
        }
    }
    if all || kind == "update" {
        if let Ok(update) = parse_update(source, &symbols)
            && let Ok(new) = apply(&update, &item)
        {
            let json = item_to_json(&new);
            for value in json.values() {
                AttributeValue::from_json(value).expect("an updated item holds valid values");
            }
        }
    }
    if all || kind == "projection" {
        if let Ok(paths) = parse_projection(source, &symbols) {
            project(&item, &paths);
        }
    }
    let _ = symbols.check_all_used();
});
