//! DynamoDB's expression language: condition and filter expressions, key conditions, update
//! expressions and projections.
//!
//! The parser is hand-written (recursive descent): no maintained crate parses DynamoDB's
//! expression grammar. Names (`#n`) and values (`:v`) are resolved while parsing, through
//! [`Symbols`], which also records which ones were used so a request can be rejected for
//! unused ones exactly as AWS does.
//!
//! Modules: [`lexer`] (tokens), [`parser`] (the grammar, producing the AST below), [`eval`]
//! (conditions on an item, document paths, projections), [`update`] (update expressions),
//! [`reserved`] (the words that cannot be bare attribute names).

pub mod eval;
#[cfg(test)]
mod fuzz;
pub mod lexer;
pub mod parser;
pub mod reserved;
pub mod update;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::value::AttributeValue;
use crate::aws_error;
use crate::error::AwsError;

/// One step of a document path: `a`, `.b` or `[3]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

/// A document path such as `a.b[0].c`, names already resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElem>);

impl Path {
    /// The top-level attribute name the path starts with.
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(name)) => name,
            _ => "",
        }
    }
}

impl std::fmt::Display for Path {
    /// AWS's rendering in messages: `[a, b, [0]]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| match e {
                PathElem::Attr(a) => a.clone(),
                PathElem::Index(i) => format!("[{i}]"),
            })
            .collect();
        write!(f, "[{}]", parts.join(", "))
    }
}

/// A value-producing operand of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttributeValue),
    Size(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A condition (ConditionExpression, FilterExpression, KeyConditionExpression).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Operand, Cmp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// An operand on the right of `SET path = ...`.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOperand {
    Path(Path),
    Value(AttributeValue),
    IfNotExists(Path, Box<UpdateOperand>),
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Operand(UpdateOperand),
    Plus(UpdateOperand, UpdateOperand),
    Minus(UpdateOperand, UpdateOperand),
}

/// A parsed UpdateExpression: its four clauses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateExpr {
    pub set: Vec<(Path, SetValue)>,
    pub remove: Vec<Path>,
    pub add: Vec<(Path, AttributeValue)>,
    pub delete: Vec<(Path, AttributeValue)>,
}

impl UpdateExpr {
    /// Every path the expression writes.
    pub fn targets(&self) -> Vec<&Path> {
        self.set
            .iter()
            .map(|(p, _)| p)
            .chain(self.remove.iter())
            .chain(self.add.iter().map(|(p, _)| p))
            .chain(self.delete.iter().map(|(p, _)| p))
            .collect()
    }
}

/// What is wrong with an expression; `Display` is AWS's message after "Invalid XExpression: ".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    #[error("Syntax error; token: \"{token}\", near: \"{near}\"")]
    Syntax { token: String, near: String },
    #[error("The expression can not be empty;")]
    Empty,
    #[error(
        "An expression attribute value used in expression is not defined; attribute value: {0}"
    )]
    UndefinedValue(String),
    #[error(
        "An expression attribute name used in the document path is not defined; attribute name: {0}"
    )]
    UndefinedName(String),
    #[error("Invalid function name; function: {0}")]
    InvalidFunction(String),
    #[error(
        "Incorrect number of operands for operator or function; operator or function: {0}, number of operands: {1}"
    )]
    OperandCount(String, usize),
    #[error(
        "Incorrect operand type for operator or function; operator or function: {0}, operand type: {1}"
    )]
    OperandType(String, String),
    #[error("Operator or function requires a document path; operator or function: {0}")]
    NeedsPath(String),
    #[error("The expression has redundant parentheses;")]
    RedundantParentheses,
    #[error("{0}")]
    Other(String),
}

/// ExpressionAttributeNames and ExpressionAttributeValues of one request, and which of them
/// the request's expressions used.
#[derive(Debug, Default)]
pub struct Symbols {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    used_names: RefCell<BTreeSet<String>>,
    used_values: RefCell<BTreeSet<String>>,
}

impl Symbols {
    /// Validates the request's maps (AWS rejects empty maps and malformed values).
    pub fn new(
        names: Option<&HashMap<String, String>>,
        values: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Self, AwsError> {
        if names.is_some_and(HashMap::is_empty) {
            return Err(aws_error!(
                ValidationException,
                "ExpressionAttributeNames must not be empty"
            ));
        }
        if values.is_some_and(serde_json::Map::is_empty) {
            return Err(aws_error!(
                ValidationException,
                "ExpressionAttributeValues must not be empty"
            ));
        }
        let mut parsed = HashMap::new();
        for (key, value) in values.into_iter().flatten() {
            if !key.starts_with(':') {
                return Err(aws_error!(
                    ValidationException,
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                ));
            }
            let value = AttributeValue::from_json(value).map_err(|e| {
                aws_error!(
                    ValidationException,
                    "ExpressionAttributeValues contains invalid value: {} for key {key}",
                    e.message
                )
            })?;
            parsed.insert(key.clone(), value);
        }
        for (key, name) in names.into_iter().flatten() {
            if !key.starts_with('#') {
                return Err(aws_error!(
                    ValidationException,
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                ));
            }
            if name.is_empty() {
                return Err(aws_error!(
                    ValidationException,
                    "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                ));
            }
        }
        Ok(Self {
            names: names.cloned().unwrap_or_default(),
            values: parsed,
            ..Default::default()
        })
    }

    pub fn has_names(&self) -> bool {
        !self.names.is_empty()
    }

    pub fn has_values(&self) -> bool {
        !self.values.is_empty()
    }

    pub fn name(&self, key: &str) -> Result<String, ExprError> {
        let name = self
            .names
            .get(key)
            .ok_or_else(|| ExprError::UndefinedName(key.to_owned()))?;
        self.used_names.borrow_mut().insert(key.to_owned());
        Ok(name.clone())
    }

    pub fn value(&self, key: &str) -> Result<AttributeValue, ExprError> {
        let value = self
            .values
            .get(key)
            .ok_or_else(|| ExprError::UndefinedValue(key.to_owned()))?;
        self.used_values.borrow_mut().insert(key.to_owned());
        Ok(value.clone())
    }

    /// After every expression of the request was parsed: AWS rejects unused names and values.
    pub fn check_all_used(&self) -> Result<(), AwsError> {
        let unused = |all: Vec<&String>, used: &BTreeSet<String>| {
            let mut left: Vec<&str> = all
                .into_iter()
                .filter(|k| !used.contains(*k))
                .map(String::as_str)
                .collect();
            left.sort_unstable();
            left.join(", ")
        };
        let names = unused(self.names.keys().collect(), &self.used_names.borrow());
        if !names.is_empty() {
            return Err(aws_error!(
                ValidationException,
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{names}}}"
            ));
        }
        let values = unused(self.values.keys().collect(), &self.used_values.borrow());
        if !values.is_empty() {
            return Err(aws_error!(
                ValidationException,
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{values}}}"
            ));
        }
        Ok(())
    }
}

/// Rejects paths that overlap (one is a prefix of the other, or they are equal) or conflict
/// (one indexes a list where the other names a map key), with AWS's message.
pub fn check_overlaps(paths: &[&Path]) -> Result<(), String> {
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let mut kind = Some("overlap");
            for (x, y) in a.0.iter().zip(&b.0) {
                if x != y {
                    let same_kind = matches!(
                        (x, y),
                        (PathElem::Attr(_), PathElem::Attr(_))
                            | (PathElem::Index(_), PathElem::Index(_))
                    );
                    kind = (!same_kind).then_some("conflict");
                    break;
                }
            }
            if let Some(kind) = kind {
                return Err(format!(
                    "Two document paths {kind} with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"
                ));
            }
        }
    }
    Ok(())
}

/// Wraps an expression error as AWS does: `Invalid ConditionExpression: ...`.
pub fn invalid(kind: &str, err: ExprError) -> AwsError {
    aws_error!(ValidationException, "Invalid {kind}: {err}")
}
