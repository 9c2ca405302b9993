//! Recursive-descent parser for DynamoDB expressions, with AWS's precedence:
//! comparisons, IN, BETWEEN and functions bind tightest, then NOT, then AND, then OR.
//!
//! ```text
//! condition  := and (OR and)*
//! and        := not (AND not)*
//! not        := NOT not | primary
//! primary    := '(' condition ')' | bool_function '(' operands ')'
//!             | operand (cmp operand | BETWEEN operand AND operand | IN '(' operand (',' operand)* ')')
//! operand    := path | :value | size '(' path ')'
//! path       := (name | #name) ('.' (name | #name) | '[' int ']')*
//! update     := (SET set (',' set)* | REMOVE path (',' path)* | ADD path :value (',' ...)*
//!                | DELETE path :value (',' ...)*)+
//! set        := path '=' uoperand (('+' | '-') uoperand)?
//! uoperand   := path | :value | if_not_exists '(' path ',' uoperand ')'
//!             | list_append '(' uoperand ',' uoperand ')'
//! projection := path (',' path)*
//! ```

use super::lexer::{Tok, Token, tokenize};
use super::{
    Cmp, Condition, ExprError, Operand, Path, PathElem, SetValue, Symbols, UpdateExpr,
    UpdateOperand,
};
use crate::dynamodb::value::AttributeValue;

const BOOL_FUNCTIONS: [&str; 5] = [
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];
/// Longest expression DynamoDB accepts (4 KB).
const MAX_EXPRESSION_BYTES: usize = 4096;
/// Deepest nesting of parentheses, NOT and update functions; bounds the recursion.
const MAX_DEPTH: usize = 64;

const VALID_TYPES: [&str; 10] = ["B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M"];

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Token positions of the `(` and `)` of the parenthesised condition parsed last, to
    /// recognise redundant parentheses as AWS does.
    last_group: Option<(usize, usize)>,
    symbols: &'a Symbols,
}

/// Parses a ConditionExpression, FilterExpression or KeyConditionExpression.
pub fn parse_condition(source: &str, symbols: &Symbols) -> Result<Condition, ExprError> {
    let mut p = Parser::new(source, symbols)?;
    let condition = p.condition()?;
    p.expect_end()?;
    Ok(condition)
}

/// Parses an UpdateExpression.
pub fn parse_update(source: &str, symbols: &Symbols) -> Result<UpdateExpr, ExprError> {
    let mut p = Parser::new(source, symbols)?;
    let update = p.update()?;
    p.expect_end()?;
    Ok(update)
}

/// Parses a ProjectionExpression.
pub fn parse_projection(source: &str, symbols: &Symbols) -> Result<Vec<Path>, ExprError> {
    let mut p = Parser::new(source, symbols)?;
    let mut paths = vec![p.path()?];
    while p.eat(&Tok::Comma) {
        paths.push(p.path()?);
    }
    p.expect_end()?;
    let refs: Vec<&Path> = paths.iter().collect();
    super::check_overlaps(&refs).map_err(ExprError::Other)?;
    Ok(paths)
}

impl<'a> Parser<'a> {
    fn new(source: &'a str, symbols: &'a Symbols) -> Result<Self, ExprError> {
        if source.trim().is_empty() {
            return Err(ExprError::Empty);
        }
        if source.len() > MAX_EXPRESSION_BYTES {
            return Err(ExprError::Other(format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                source.len()
            )));
        }
        Ok(Self {
            source,
            tokens: tokenize(source)?,
            pos: 0,
            depth: 0,
            last_group: None,
            symbols,
        })
    }

    /// Runs a nested production, refusing nesting deeper than [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExprError::Other(format!(
                "The expression is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.advance();
            true
        } else {
            false
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.keyword(word);
        if found {
            self.advance();
        }
        found
    }

    /// AWS's syntax error at the current token: the token and the text around it.
    fn syntax_error(&self) -> ExprError {
        let at = self.pos.min(self.tokens.len() - 1);
        let token = &self.tokens[at];
        let from = self.tokens[at.saturating_sub(1)].start;
        let to = self.tokens[(at + 1).min(self.tokens.len() - 1)].end;
        ExprError::Syntax {
            token: token.text(self.source).to_owned(),
            near: self.source[from.min(to)..to].to_owned(),
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), ExprError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    fn expect_end(&self) -> Result<(), ExprError> {
        match self.peek() {
            Tok::Eof => Ok(()),
            _ => Err(self.syntax_error()),
        }
    }

    // ---- conditions ----

    fn condition(&mut self) -> Result<Condition, ExprError> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, ExprError> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, ExprError> {
        if self.eat_keyword("NOT") {
            let inner = self.nested(Self::not)?;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, ExprError> {
        if *self.peek() == Tok::LParen {
            // `(` opens a condition or an operand (`(a) = :v`); try the condition first.
            let start = self.pos;
            match self.nested(Self::group) {
                Ok(inner) => return Ok(inner),
                Err(ExprError::RedundantParentheses) => {
                    return Err(ExprError::RedundantParentheses);
                }
                Err(err) => {
                    self.pos = start;
                    if let Ok(condition) = self.comparison() {
                        return Ok(condition);
                    }
                    return Err(err);
                }
            }
        }
        if let (Tok::Ident(name), Tok::LParen) = (self.peek(), self.peek_at(1)) {
            let name = name.clone();
            if BOOL_FUNCTIONS.contains(&name.as_str()) {
                return self.bool_function(name);
            }
        }
        self.comparison()
    }

    /// `( condition )`; AWS rejects a group that only wraps another group.
    fn group(&mut self) -> Result<Condition, ExprError> {
        let open = self.pos;
        self.expect(&Tok::LParen)?;
        let inner = self.condition()?;
        self.expect(&Tok::RParen)?;
        let close = self.pos - 1;
        if self.last_group == Some((open + 1, close - 1)) {
            return Err(ExprError::RedundantParentheses);
        }
        self.last_group = Some((open, close));
        Ok(inner)
    }

    /// An operand followed by a comparator, BETWEEN or IN.
    fn comparison(&mut self) -> Result<Condition, ExprError> {
        let left = self.operand()?;
        if self.eat_keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.eat_keyword("AND") {
                return Err(self.syntax_error());
            }
            let high = self.operand()?;
            for operand in [&left, &low, &high] {
                check_comparable("BETWEEN", operand)?;
            }
            if let (Operand::Value(lo), Operand::Value(hi)) = (&low, &high)
                && lo.type_name() != hi.type_name()
            {
                return Err(ExprError::Other(format!(
                    "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                    show(lo),
                    show(hi)
                )));
            }
            if let (Operand::Value(lo), Operand::Value(hi)) = (&low, &high)
                && super::eval::compare(lo, hi) == Some(std::cmp::Ordering::Greater)
            {
                return Err(ExprError::Other(format!(
                    "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                    show(lo),
                    show(hi)
                )));
            }
            return Ok(Condition::Between(left, low, high));
        }
        if self.eat_keyword("IN") {
            self.expect(&Tok::LParen)?;
            let mut list = vec![self.operand()?];
            while self.eat(&Tok::Comma) {
                list.push(self.operand()?);
            }
            self.expect(&Tok::RParen)?;
            return Ok(Condition::In(left, list));
        }
        let cmp = match self.peek() {
            Tok::Eq => Cmp::Eq,
            Tok::Ne => Cmp::Ne,
            Tok::Lt => Cmp::Lt,
            Tok::Le => Cmp::Le,
            Tok::Gt => Cmp::Gt,
            Tok::Ge => Cmp::Ge,
            _ => return Err(self.syntax_error()),
        };
        self.advance();
        let right = self.operand()?;
        if !matches!(cmp, Cmp::Eq | Cmp::Ne) {
            check_comparable(cmp.symbol(), &left)?;
            check_comparable(cmp.symbol(), &right)?;
        }
        Ok(Condition::Compare(left, cmp, right))
    }

    fn arguments(&mut self, name: &str) -> Result<Vec<Operand>, ExprError> {
        self.expect(&Tok::LParen)?;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            args.push(self.operand()?);
            while self.eat(&Tok::Comma) {
                args.push(self.operand()?);
            }
            self.expect(&Tok::RParen)?;
        }
        let expected = match name {
            "attribute_exists" | "attribute_not_exists" | "size" => 1,
            _ => 2,
        };
        if args.len() != expected {
            return Err(ExprError::OperandCount(name.to_owned(), args.len()));
        }
        Ok(args)
    }

    fn bool_function(&mut self, name: String) -> Result<Condition, ExprError> {
        self.advance();
        let mut args = self.arguments(&name)?.into_iter();
        let (Some(first), second) = (args.next(), args.next()) else {
            return Err(ExprError::OperandCount(name, 0));
        };
        let path = |op: Operand| match op {
            Operand::Path(p) => Ok(p),
            _ => Err(ExprError::NeedsPath(name.clone())),
        };
        Ok(match (name.as_str(), second) {
            ("attribute_exists", None) => Condition::AttributeExists(path(first)?),
            ("attribute_not_exists", None) => Condition::AttributeNotExists(path(first)?),
            ("attribute_type", Some(t)) => {
                match &t {
                    Operand::Value(AttributeValue::S(s)) if VALID_TYPES.contains(&s.as_str()) => {}
                    Operand::Value(AttributeValue::S(s)) => {
                        return Err(ExprError::Other(format!(
                            "Invalid attribute type name found; type: {s}, valid types: {{N,BS,L,B,NULL,M,S,SS,NS,BOOL}}"
                        )));
                    }
                    Operand::Value(v) => {
                        return Err(ExprError::OperandType(name, v.type_name().into()));
                    }
                    _ => return Err(ExprError::OperandType(name, "path".into())),
                }
                Condition::AttributeType(path(first)?, t)
            }
            ("begins_with", Some(prefix)) => {
                for operand in [&first, &prefix] {
                    match operand {
                        Operand::Value(AttributeValue::S(_) | AttributeValue::B(_))
                        | Operand::Path(_) => {}
                        Operand::Value(v) => {
                            return Err(ExprError::OperandType(name, v.type_name().into()));
                        }
                        Operand::Size(_) => return Err(ExprError::OperandType(name, "N".into())),
                    }
                }
                Condition::BeginsWith(first, prefix)
            }
            ("contains", Some(needle)) => Condition::Contains(first, needle),
            _ => return Err(ExprError::OperandCount(name, 1)),
        })
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        match self.peek().clone() {
            Tok::LParen => {
                self.advance();
                let inner = self.nested(Self::operand)?;
                self.expect(&Tok::RParen)?;
                Ok(inner)
            }
            Tok::Value(key) => {
                self.advance();
                Ok(Operand::Value(self.symbols.value(&key)?))
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen => {
                if name != "size" {
                    return Err(ExprError::InvalidFunction(name));
                }
                self.advance();
                let mut args = self.arguments("size")?;
                match args.pop() {
                    Some(Operand::Path(p)) => Ok(Operand::Size(p)),
                    // The size of a constant is a constant, for the types that have one.
                    Some(Operand::Value(v)) => super::eval::size_of(&v)
                        .map(Operand::Value)
                        .ok_or_else(|| ExprError::OperandType("size".into(), v.type_name().into())),
                    _ => Err(ExprError::NeedsPath("size".into())),
                }
            }
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    fn path(&mut self) -> Result<Path, ExprError> {
        let mut elems = vec![PathElem::Attr(self.path_name()?)];
        loop {
            if self.eat(&Tok::Dot) {
                elems.push(PathElem::Attr(self.path_name()?));
            } else if self.eat(&Tok::LBracket) {
                let Tok::Int(digits) = self.peek().clone() else {
                    return Err(self.syntax_error());
                };
                let index = digits.parse::<usize>().map_err(|_| self.syntax_error())?;
                self.advance();
                self.expect(&Tok::RBracket)?;
                elems.push(PathElem::Index(index));
            } else {
                return Ok(Path(elems));
            }
        }
    }

    fn path_name(&mut self) -> Result<String, ExprError> {
        match self.peek().clone() {
            Tok::Name(key) => {
                self.advance();
                self.symbols.name(&key)
            }
            Tok::Ident(name) if !is_keyword(&name) => {
                if super::reserved::is_reserved(&name) {
                    return Err(ExprError::Other(format!(
                        "Attribute name is a reserved keyword; reserved keyword: {name}"
                    )));
                }
                self.advance();
                Ok(name)
            }
            _ => Err(self.syntax_error()),
        }
    }

    // ---- update expressions ----

    fn update(&mut self) -> Result<UpdateExpr, ExprError> {
        let mut update = UpdateExpr::default();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let Tok::Ident(word) = self.peek().clone() else {
                if seen.is_empty() {
                    return Err(self.syntax_error());
                }
                return Ok(update);
            };
            let clause = word.to_ascii_uppercase();
            if !["SET", "REMOVE", "ADD", "DELETE"].contains(&clause.as_str()) {
                return Err(self.syntax_error());
            }
            if seen.contains(&clause) {
                return Err(ExprError::Other(format!(
                    "The \"{clause}\" section can only be used once in an update expression;"
                )));
            }
            self.advance();
            loop {
                match clause.as_str() {
                    "SET" => {
                        let path = self.path()?;
                        self.expect(&Tok::Eq)?;
                        let value = self.set_value()?;
                        update.set.push((path, value));
                    }
                    "REMOVE" => update.remove.push(self.path()?),
                    _ => {
                        let path = self.path()?;
                        let Tok::Value(key) = self.peek().clone() else {
                            return Err(self.syntax_error());
                        };
                        self.advance();
                        let value = self.symbols.value(&key)?;
                        let fits = matches!(
                            (clause.as_str(), &value),
                            ("ADD", AttributeValue::N(_))
                                | (
                                    _,
                                    AttributeValue::Ss(_)
                                        | AttributeValue::Ns(_)
                                        | AttributeValue::Bs(_)
                                )
                        );
                        if !fits {
                            return Err(ExprError::Other(format!(
                                "Incorrect operand type for operator or function; operator: {clause}, operand type: {}, typeSet: ALLOWED_FOR_{clause}_OPERAND",
                                long_type_name(&value)
                            )));
                        }
                        if clause == "ADD" {
                            update.add.push((path, value));
                        } else {
                            update.delete.push((path, value));
                        }
                    }
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            seen.push(clause);
        }
    }

    fn set_value(&mut self) -> Result<SetValue, ExprError> {
        let left = self.update_operand()?;
        if self.eat(&Tok::Plus) {
            return Ok(SetValue::Plus(left, self.update_operand()?));
        }
        if self.eat(&Tok::Minus) {
            return Ok(SetValue::Minus(left, self.update_operand()?));
        }
        Ok(SetValue::Operand(left))
    }

    fn update_operand(&mut self) -> Result<UpdateOperand, ExprError> {
        match self.peek().clone() {
            Tok::Value(key) => {
                self.advance();
                Ok(UpdateOperand::Value(self.symbols.value(&key)?))
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen => {
                self.advance();
                self.advance();
                let result = match name.as_str() {
                    "if_not_exists" => {
                        let path = self.path()?;
                        self.expect(&Tok::Comma)?;
                        let fallback = self.nested(Self::update_operand)?;
                        UpdateOperand::IfNotExists(path, Box::new(fallback))
                    }
                    "list_append" => {
                        let a = self.nested(Self::update_operand)?;
                        self.expect(&Tok::Comma)?;
                        let b = self.nested(Self::update_operand)?;
                        UpdateOperand::ListAppend(Box::new(a), Box::new(b))
                    }
                    _ => return Err(ExprError::InvalidFunction(name)),
                };
                self.expect(&Tok::RParen)?;
                Ok(result)
            }
            _ => Ok(UpdateOperand::Path(self.path()?)),
        }
    }
}

/// The type names AWS uses in ADD and DELETE operand errors.
fn long_type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Ss(_) => "STRING_SET",
        AttributeValue::Ns(_) => "NUMBER_SET",
        AttributeValue::Bs(_) => "BINARY_SET",
        AttributeValue::M(_) => "MAP",
        AttributeValue::L(_) => "LIST",
        AttributeValue::Null => "NULL",
        AttributeValue::Bool(_) => "BOOLEAN",
    }
}

/// Words that cannot be bare attribute names because the grammar uses them.
fn is_keyword(word: &str) -> bool {
    [
        "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// `<`, `BETWEEN`, ... accept only scalar (S, N, B) constants.
fn check_comparable(op: &str, operand: &Operand) -> Result<(), ExprError> {
    match operand {
        Operand::Value(AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_))
        | Operand::Path(_)
        | Operand::Size(_) => Ok(()),
        Operand::Value(v) => Err(ExprError::OperandType(op.into(), v.type_name().into())),
    }
}

fn show(v: &AttributeValue) -> String {
    match v.to_json() {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                format!(
                    "{{{k}:{}}}",
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn symbols() -> Symbols {
        let names: HashMap<String, String> = [
            ("#n".to_string(), "name".to_string()),
            ("#s".into(), "status".into()),
        ]
        .into();
        let values = json!({":a": {"N": "1"}, ":b": {"N": "5"}, ":s": {"S": "x"}, ":m": {"M": {}}, ":ss": {"SS": ["a"]}});
        Symbols::new(Some(&names), values.as_object()).unwrap()
    }

    fn cond(s: &str) -> Condition {
        parse_condition(s, &symbols()).unwrap()
    }

    fn err(s: &str) -> String {
        parse_condition(s, &symbols()).unwrap_err().to_string()
    }

    fn path(names: &[&str]) -> Path {
        Path(
            names
                .iter()
                .map(|n| PathElem::Attr(n.to_string()))
                .collect(),
        )
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        use Condition::*;
        let a = || AttributeExists(path(&["a"]));
        let b = || AttributeExists(path(&["b"]));
        let c = || AttributeExists(path(&["c"]));
        assert_eq!(
            cond("attribute_exists(a) OR attribute_exists(b) AND attribute_exists(c)"),
            Or(Box::new(a()), Box::new(And(Box::new(b()), Box::new(c()))))
        );
        assert_eq!(
            cond("NOT attribute_exists(a) AND attribute_exists(b)"),
            And(Box::new(Not(Box::new(a()))), Box::new(b()))
        );
        assert_eq!(
            cond("(attribute_exists(a) OR attribute_exists(b)) and attribute_exists(c)"),
            And(Box::new(Or(Box::new(a()), Box::new(b()))), Box::new(c()))
        );
    }

    #[test]
    fn parses_comparisons_between_in_and_nested_paths() {
        let one = AttributeValue::N("1".parse().unwrap());
        assert_eq!(
            cond("#n.b[2].c <= :a"),
            Condition::Compare(
                Operand::Path(Path(vec![
                    PathElem::Attr("name".into()),
                    PathElem::Attr("b".into()),
                    PathElem::Index(2),
                    PathElem::Attr("c".into())
                ])),
                Cmp::Le,
                Operand::Value(one.clone())
            )
        );
        assert!(matches!(
            cond("a BETWEEN :a AND :b"),
            Condition::Between(..)
        ));
        assert!(matches!(cond("a IN (:a, :b, :s)"), Condition::In(_, l) if l.len() == 3));
        assert!(matches!(
            cond("size(a) > :a"),
            Condition::Compare(Operand::Size(_), Cmp::Gt, _)
        ));
        assert!(matches!(
            cond("a BETWEEN :a AND :b AND b = :s"),
            Condition::And(..)
        ));
    }

    #[test]
    fn reports_aws_errors() {
        assert_eq!(err("a = "), "Syntax error; token: \"<EOF>\", near: \"= \"");
        assert!(err("a = :zz").contains("attribute value: :zz"));
        assert!(err("#zz = :a").contains("attribute name: #zz"));
        assert_eq!(err("nope(a)"), "Invalid function name; function: nope");
        assert!(err("begins_with(a)").contains("number of operands: 1"));
        assert!(err("attribute_exists(:a)").contains("requires a document path"));
        assert!(err("a < :m").contains("operand type: M"));
        assert!(err("begins_with(a, :a)").contains("operand type: N"));
        assert!(err("a BETWEEN :b AND :a").contains("upper bound to be greater"));
        assert!(err("a BETWEEN :a AND :s").contains("same data type for lower and upper bounds"));
        assert!(err("size(:a) = :a").contains("operator or function: size, operand type: N"));
        assert_eq!(
            err("((a = :a))"),
            "The expression has redundant parentheses;"
        );
        assert_eq!(
            err("a = :a b"),
            "Syntax error; token: \"b\", near: \":a b\""
        );
        assert_eq!(
            err("a == :a"),
            "Syntax error; token: \"=\", near: \"== :a\""
        );
        assert_eq!(err("a = @"), "Syntax error; token: \"@\", near: \"= @\"");
        assert_eq!(
            err("and = :a"),
            "Syntax error; token: \"and\", near: \"and =\""
        );
        assert!(err("attribute_type(a, :s)").contains("Invalid attribute type name"));
        assert!(err("(a = :a").starts_with("Syntax error"));
        assert_eq!(
            err("status = :a"),
            "Attribute name is a reserved keyword; reserved keyword: status"
        );
        assert!(err("a.Data = :a").contains("reserved keyword: Data"));
        assert!(err("a = :a b").starts_with("Syntax error"));
        assert_eq!(parse_condition("  ", &symbols()), Err(ExprError::Empty));
        let deep = format!("{}a = :a{}", "(".repeat(2000), ")".repeat(2000));
        assert!(err(&deep).contains("nested more than"));
        let deep = format!("{}a{} = :a", "(".repeat(2000), ")".repeat(2000));
        assert!(err(&deep).contains("nested more than"));
        let nots = format!("{}a = :a", "NOT ".repeat(500));
        assert!(err(&nots).contains("nested more than"));
        let long = format!("a IN ({})", vec![":a"; 2000].join(","));
        assert!(err(&long).starts_with("Expression size has exceeded"));
    }

    #[test]
    fn parentheses_wrap_conditions_and_operands() {
        for ok in [
            "(a = :a)",
            "(a = :a) AND (b = :a)",
            "((a = :a) AND b = :a)",
            "NOT (a = :a)",
            "(size(a)) = :a",
            "a = (:a)",
            "(a) = :a",
            "attribute_exists((a))",
            "((a = :a) OR (b = :a)) AND (c = :a)",
        ] {
            assert!(parse_condition(ok, &symbols()).is_ok(), "{ok}");
        }
        assert!(matches!(
            cond("size(:s) = :a"),
            Condition::Compare(Operand::Value(_), ..)
        ));
    }

    #[test]
    fn projections_may_not_overlap() {
        let e = |s: &str| parse_projection(s, &symbols()).unwrap_err().to_string();
        assert_eq!(
            e("a, a"),
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
        );
        assert!(e("m, m.x").contains("path one: [m], path two: [m, x]"));
        assert!(e("m.x, m[0]").contains("conflict"));
        assert!(parse_projection("m.x, m.y, l[0], l[1]", &symbols()).is_ok());
    }

    #[test]
    fn parses_update_clauses() {
        let u = parse_update(
            "SET a = :a, b = b + :b, c = if_not_exists(c, :a), d = list_append(d, :s) REMOVE e, f[1] ADD g :a DELETE h :ss",
            &symbols(),
        )
        .unwrap();
        assert_eq!(u.set.len(), 4);
        assert!(matches!(u.set[1].1, SetValue::Plus(..)));
        assert_eq!(u.remove.len(), 2);
        assert_eq!(u.add.len(), 1);
        assert_eq!(u.delete.len(), 1);
        let e = |s: &str| parse_update(s, &symbols()).unwrap_err().to_string();
        assert!(e("SET a = :a SET b = :a").contains("can only be used once"));
        assert_eq!(
            e("ADD a :s"),
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"
        );
        assert!(e("DELETE a :a").contains("operator: DELETE, operand type: NUMBER"));
        assert!(e("SET a = nope(b)").contains("Invalid function name"));
        assert!(e("PUT a = :a").starts_with("Syntax error"));
    }

    #[test]
    fn tracks_used_symbols() {
        let s = symbols();
        parse_condition("#n = :a", &s).unwrap();
        let e = s.check_all_used().unwrap_err();
        assert_eq!(
            e.message,
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#s}"
        );
        parse_projection("#s", &s).unwrap();
        let e = s.check_all_used().unwrap_err();
        assert_eq!(
            e.message,
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b, :m, :s, :ss}"
        );
    }
}
