//! Property tests: whatever text arrives as an expression or a number, parsing answers
//! (a value or an AWS error) and never panics.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::json;

use super::Symbols;
use super::eval::evaluate;
use super::parser::{parse_condition, parse_projection, parse_update};
use super::update::apply;
use crate::dynamodb::number::Number;
use crate::dynamodb::value::item_from_json;

/// Fragments of the expression language, so random strings are mostly near-valid.
fn arb_expression() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "a",
        "b",
        "l",
        "m",
        "#n",
        ":v",
        ":w",
        ":l",
        "[0]",
        "[1]",
        ".",
        ",",
        "(",
        ")",
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        " AND ",
        " OR ",
        " NOT ",
        " BETWEEN ",
        " IN ",
        "SET ",
        " REMOVE ",
        " ADD ",
        " DELETE ",
        "size",
        "attribute_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "if_not_exists",
        "list_append",
        " ",
        "@",
        "1",
        "status",
    ]);
    prop::collection::vec(token, 0..24).prop_map(|parts| parts.concat())
}

fn symbols() -> Symbols {
    let names: HashMap<String, String> = [("#n".to_string(), "n".to_string())].into();
    let values = json!({":v": {"N": "1"}, ":w": {"SS": ["x"]}, ":l": {"L": [{"S": "a"}]}});
    Symbols::new(Some(&names), values.as_object()).unwrap()
}

// 512 cases per property keeps the suite well under a second while covering the grammar's
// combinations of a few tokens many times over.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn expressions_never_panic(source in arb_expression()) {
        let symbols = symbols();
        let item = item_from_json(
            json!({"a": {"N": "1"}, "l": {"L": [{"N": "2"}]}, "m": {"M": {"a": {"S": "x"}}}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        if let Ok(condition) = parse_condition(&source, &symbols) {
            evaluate(&condition, &item);
        }
        if let Ok(update) = parse_update(&source, &symbols) {
            let _ = apply(&update, &item);
        }
        let _ = parse_projection(&source, &symbols);
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,40}") {
        let symbols = symbols();
        let _ = parse_condition(&source, &symbols);
        let _ = parse_update(&source, &symbols);
        let _ = parse_projection(&source, &symbols);
        let _ = source.parse::<Number>();
    }

    #[test]
    fn numbers_round_trip_through_their_normal_form(
        int in "-?[0-9]{1,20}", frac in "[0-9]{0,17}", exp in -100i32..100
    ) {
        let text = format!("{int}.{frac}e{exp}");
        if let Ok(n) = text.parse::<Number>() {
            let again: Number = n.to_string().parse().unwrap();
            prop_assert_eq!(&again, &n);
            prop_assert_eq!(again.to_string(), n.to_string());
        }
    }
}
