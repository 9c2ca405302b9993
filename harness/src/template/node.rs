//! A template's values as CloudFormation sees them: scalars, lists, maps and the intrinsic
//! functions the harness can evaluate (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`), in either
//! spelling (`!Ref X` or `{"Ref": "X"}`). Any other intrinsic is refused where it appears.

use std::collections::BTreeMap;
use std::fmt;

use serde_yaml_ng::Value;

/// One value of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, or a key with no value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number as written (CloudFormation passes numbers on as strings).
    Number(String),
    /// A string.
    Str(String),
    /// A sequence.
    List(Vec<Node>),
    /// A mapping, keys in order.
    Map(BTreeMap<String, Node>),
    /// `Ref`: a parameter, a pseudo parameter or a resource.
    Ref(String),
    /// `Fn::GetAtt`: a resource's attribute.
    GetAtt(String, String),
    /// `Fn::Sub`: a string with `${Name}` and `${Resource.Attribute}`, and its own variables.
    Sub(String, BTreeMap<String, Node>),
    /// `Fn::Join`: a delimiter and the values it joins.
    Join(String, Vec<Node>),
}

/// A template value the harness cannot read, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct NodeError {
    /// Where the value is (`EventsQueue.Properties.RedrivePolicy`).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl Node {
    /// Reads a YAML value; `path` names it in errors (`EventsQueue.RedrivePolicy`).
    pub fn from_yaml(value: &Value, path: &str) -> Result<Node, NodeError> {
        let fail = |message: String| NodeError {
            path: path.to_owned(),
            message,
        };
        Ok(match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.to_string()),
            Value::String(s) => Node::Str(s.clone()),
            Value::Sequence(items) => Node::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Node::from_yaml(v, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(map) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(fail(format!("a map key must be a string, not {other:?}")));
                        }
                    };
                    let child = Node::from_yaml(v, &join_path(path, &key))?;
                    out.insert(key, child);
                }
                // The long form of an intrinsic: a map with a single `Ref` or `Fn::*` key.
                if out.len() == 1 {
                    let (key, arg) = out.iter().next().expect("one entry");
                    if key == "Ref" || key.starts_with("Fn::") {
                        return intrinsic(key.trim_start_matches("Fn::"), arg.clone(), path);
                    }
                }
                Node::Map(out)
            }
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let name = tag.trim_start_matches('!');
                let arg = Node::from_yaml(&tagged.value, path)?;
                intrinsic(name, arg, path)?
            }
        })
    }

    /// The map's entry `key`, if this is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(map) => map.get(key),
            _ => None,
        }
    }

    /// The literal text of a scalar (strings, numbers, booleans), if it is one.
    pub fn literal(&self) -> Option<String> {
        match self {
            Node::Str(s) | Node::Number(s) => Some(s.clone()),
            Node::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::Str(_) => "a string",
            Node::List(_) => "a list",
            Node::Map(_) => "a map",
            Node::Ref(_) => "a Ref",
            Node::GetAtt(..) => "a Fn::GetAtt",
            Node::Sub(..) => "a Fn::Sub",
            Node::Join(..) => "a Fn::Join",
        }
    }

    /// The logical ids this value refers to (Ref, GetAtt and the names in a Sub).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out
    }

    fn collect_references(&self, out: &mut Vec<String>) {
        match self {
            Node::Ref(name) => out.push(name.split('.').next().unwrap_or(name).to_owned()),
            Node::GetAtt(id, _) => out.push(id.clone()),
            Node::Sub(text, vars) => {
                for name in sub_names(text) {
                    let id = name.split('.').next().unwrap_or(&name).to_owned();
                    if !vars.contains_key(&id) {
                        out.push(id);
                    }
                }
                vars.values().for_each(|v| v.collect_references(out));
            }
            Node::Join(_, items) | Node::List(items) => {
                items.iter().for_each(|v| v.collect_references(out));
            }
            Node::Map(map) => map.values().for_each(|v| v.collect_references(out)),
            Node::Null | Node::Bool(_) | Node::Number(_) | Node::Str(_) => {}
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Null => f.write_str("null"),
            Node::Bool(b) => write!(f, "{b}"),
            Node::Number(s) => f.write_str(s),
            Node::Str(s) => write!(f, "{s:?}"),
            Node::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Node::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Node::Ref(name) => write!(f, "!Ref {name}"),
            Node::GetAtt(id, attr) => write!(f, "!GetAtt {id}.{attr}"),
            Node::Sub(text, _) => write!(f, "!Sub {text:?}"),
            Node::Join(sep, items) => write!(f, "!Join [{sep:?}, {}]", Node::List(items.clone())),
        }
    }
}

/// `a.b` for map keys, so error paths read like the template.
pub fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The `${...}` names in a `Fn::Sub` string (`${!Literal}` is an escaped `${Literal}`).
pub fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

fn intrinsic(name: &str, arg: Node, path: &str) -> Result<Node, NodeError> {
    let fail = |message: String| NodeError {
        path: path.to_owned(),
        message,
    };
    match name {
        "Ref" => match arg {
            Node::Str(target) => Ok(Node::Ref(target)),
            other => Err(fail(format!("Ref takes a name, not {}", other.kind()))),
        },
        "GetAtt" => match arg {
            Node::Str(text) => match text.split_once('.') {
                Some((id, attr)) => Ok(Node::GetAtt(id.to_owned(), attr.to_owned())),
                None => Err(fail(format!(
                    "Fn::GetAtt `{text}` must be LogicalId.Attribute"
                ))),
            },
            Node::List(items) => match items.as_slice() {
                [Node::Str(id), Node::Str(attr)] => Ok(Node::GetAtt(id.clone(), attr.clone())),
                _ => Err(fail("Fn::GetAtt takes [LogicalId, Attribute]".into())),
            },
            other => Err(fail(format!(
                "Fn::GetAtt takes a string, not {}",
                other.kind()
            ))),
        },
        "Sub" => match arg {
            Node::Str(text) => Ok(Node::Sub(text, BTreeMap::new())),
            Node::List(items) => match <[Node; 2]>::try_from(items) {
                Ok([Node::Str(text), Node::Map(vars)]) => Ok(Node::Sub(text, vars)),
                _ => Err(fail(
                    "Fn::Sub takes a string or [string, {variables}]".into(),
                )),
            },
            other => Err(fail(format!(
                "Fn::Sub takes a string, not {}",
                other.kind()
            ))),
        },
        "Join" => match arg {
            Node::List(items) => match <[Node; 2]>::try_from(items) {
                Ok([Node::Str(sep), Node::List(values)]) => Ok(Node::Join(sep, values)),
                _ => Err(fail("Fn::Join takes [delimiter, [values]]".into())),
            },
            other => Err(fail(format!("Fn::Join takes a list, not {}", other.kind()))),
        },
        other => Err(fail(format!(
            "the intrinsic function {other} is not supported by the harness \
             (supported: Ref, Fn::GetAtt, Fn::Sub, Fn::Join)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, NodeError> {
        let value: Value = serde_yaml_ng::from_str(text).expect("yaml");
        Node::from_yaml(&value, "X")
    }

    #[test]
    fn both_spellings_of_each_intrinsic_read_alike() {
        assert_eq!(parse("!Ref A").unwrap(), parse("{Ref: A}").unwrap());
        assert_eq!(
            parse("!GetAtt A.Arn").unwrap(),
            parse("{'Fn::GetAtt': [A, Arn]}").unwrap()
        );
        assert_eq!(
            parse("!Sub 'x-${A}'").unwrap(),
            Node::Sub("x-${A}".into(), BTreeMap::new())
        );
        assert_eq!(
            parse("!Join [',', [a, !Ref B]]").unwrap(),
            Node::Join(
                ",".into(),
                vec![Node::Str("a".into()), Node::Ref("B".into())]
            )
        );
    }

    #[test]
    fn other_intrinsics_are_refused_with_their_path() {
        let err = parse("{a: {b: !If [c, d, e]}}").unwrap_err();
        assert_eq!(err.path, "X.a.b");
        assert!(err.message.contains("If is not supported"), "{err}");
        let err = parse("{'Fn::FindInMap': [a, b, c]}").unwrap_err();
        assert!(err.message.contains("FindInMap"), "{err}");
    }

    #[test]
    fn references_include_sub_names_but_not_its_own_variables() {
        let node = parse("!Sub ['${A}-${B.Arn}-${C}-${!D}', {C: !Ref E}]").unwrap();
        assert_eq!(node.references(), ["A", "B", "E"]);
    }
}
