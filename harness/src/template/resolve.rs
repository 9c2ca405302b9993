//! Evaluates template values against what is known: parameters, pseudo parameters, and the
//! resources' physical names, URLs and ARNs once the backend has them. Before provisioning
//! only parameters and names are known; a value that needs more says so.

use std::collections::BTreeMap;

use super::node::{Node, sub_names};

/// What a resource evaluates to: its `Ref` value and its `Fn::GetAtt` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFacts {
    /// What `Ref` gives (a queue's URL, a stream's or table's name, a function's name).
    pub reference: String,
    /// What `Fn::GetAtt` gives, by attribute (`Arn`, `QueueName`, ...).
    pub attributes: BTreeMap<String, String>,
}

/// Everything a value may refer to.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The template's parameters (defaults, overridden by `--parameter`).
    pub parameters: BTreeMap<String, String>,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// Each resource, by logical id.
    pub resources: BTreeMap<String, ResourceFacts>,
}

impl Facts {
    /// A value as a string (scalars as written; a Sub or Join evaluated).
    pub fn string(&self, node: &Node) -> Result<String, String> {
        match node {
            Node::Str(s) | Node::Number(s) => Ok(s.clone()),
            Node::Bool(b) => Ok(b.to_string()),
            Node::Ref(name) => self.reference(name),
            Node::GetAtt(id, attr) => self.attribute(id, attr),
            Node::Sub(text, vars) => self.sub(text, vars),
            Node::Join(sep, items) => Ok(items
                .iter()
                .map(|item| self.string(item))
                .collect::<Result<Vec<_>, _>>()?
                .join(sep)),
            other => Err(format!("expected a string, found {}", other.kind())),
        }
    }

    /// A value as JSON, intrinsics evaluated (a queue's RedrivePolicy, a policy document).
    pub fn json(&self, node: &Node) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => n
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(n.clone())),
            Node::List(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.json(item))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Map(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => Value::String(self.string(other)?),
        })
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        match name {
            "AWS::Region" => return Ok(self.region.clone()),
            "AWS::AccountId" => return Ok(self.account.clone()),
            "AWS::StackName" => return Ok(self.stack_name.clone()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        // SAM's `!Ref Api.Stage` names an API's stage.
        if let Some((id, attr)) = name.split_once('.') {
            return self.attribute(id, attr);
        }
        self.resources
            .get(name)
            .map(|r| r.reference.clone())
            .ok_or_else(|| format!("Ref {name}: no such parameter or resource is known"))
    }

    fn attribute(&self, id: &str, attr: &str) -> Result<String, String> {
        let resource = self
            .resources
            .get(id)
            .ok_or_else(|| format!("Fn::GetAtt {id}.{attr}: no such resource is known"))?;
        resource.attributes.get(attr).cloned().ok_or_else(|| {
            let known: Vec<&str> = resource.attributes.keys().map(String::as_str).collect();
            format!(
                "Fn::GetAtt {id}.{attr}: the harness knows {id}'s attributes {}",
                if known.is_empty() {
                    "(none)".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, Node>) -> Result<String, String> {
        let mut out = text.to_owned();
        for name in sub_names(text) {
            let value = match vars.get(&name) {
                Some(node) => self.string(node)?,
                None => match name.split_once('.') {
                    Some((id, attr)) if !self.parameters.contains_key(&name) => {
                        self.attribute(id, attr)?
                    }
                    _ => self.reference(&name)?,
                },
            };
            out = out.replace(&format!("${{{name}}}"), &value);
        }
        // `${!Literal}` stands for `${Literal}`.
        Ok(out.replace("${!", "${"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            parameters: BTreeMap::from([("Shards".into(), "2".into())]),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            stack_name: "local".into(),
            resources: BTreeMap::from([(
                "Q".into(),
                ResourceFacts {
                    reference: "http://q".into(),
                    attributes: BTreeMap::from([("Arn".into(), "arn:q".into())]),
                },
            )]),
        }
    }

    #[test]
    fn refs_getatts_subs_and_joins_evaluate() {
        let f = facts();
        assert_eq!(f.string(&Node::Ref("Shards".into())).unwrap(), "2");
        assert_eq!(f.string(&Node::Ref("Q".into())).unwrap(), "http://q");
        assert_eq!(
            f.string(&Node::GetAtt("Q".into(), "Arn".into())).unwrap(),
            "arn:q"
        );
        let sub = Node::Sub(
            "${AWS::Region}/${Q}/${Q.Arn}/${X}/${!Keep}".into(),
            BTreeMap::from([("X".into(), Node::Str("x".into()))]),
        );
        assert_eq!(
            f.string(&sub).unwrap(),
            "us-east-1/http://q/arn:q/x/${Keep}"
        );
        let join = Node::Join(
            "-".into(),
            vec![Node::Str("a".into()), Node::Ref("Q".into())],
        );
        assert_eq!(f.string(&join).unwrap(), "a-http://q");
    }

    #[test]
    fn unknown_names_and_attributes_say_what_is_known() {
        let f = facts();
        assert!(f.string(&Node::Ref("Nope".into())).is_err());
        let err = f
            .string(&Node::GetAtt("Q".into(), "QueueName".into()))
            .unwrap_err();
        assert!(err.contains("Arn"), "{err}");
    }
}
