//! Reading one resource's properties so that nothing is skipped unnoticed: every key taken is
//! marked, and [`Props::finish`] turns each key nobody took into a [`Finding`].

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::node::{Node, join_path};
use super::resolve::Facts;
use super::{Finding, TemplateError};

/// A resource's (or a nested map's) properties being read.
pub struct Props<'a> {
    /// The resource's logical id.
    pub id: &'a str,
    /// The path of this map under the resource (`""` for `Properties` itself).
    pub path: String,
    map: &'a BTreeMap<String, Node>,
    taken: RefCell<BTreeSet<String>>,
    origin: &'a str,
    /// Parameters and pseudo parameters, for values needed before provisioning.
    facts: &'a Facts,
}

impl<'a> Props<'a> {
    /// Reads the properties `map` of resource `id`; `origin` names the template in errors, `facts`
    /// resolve values needed before provisioning.
    pub fn new(
        id: &'a str,
        map: &'a BTreeMap<String, Node>,
        origin: &'a str,
        facts: &'a Facts,
    ) -> Self {
        Props {
            id,
            path: String::new(),
            map,
            taken: RefCell::default(),
            origin,
            facts,
        }
    }

    /// The account the template is compiled for (`AWS::AccountId`).
    pub fn account(&self) -> &str {
        &self.facts.account
    }

    /// The property's full path under the resource.
    pub fn path_of(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    /// Takes a property, if present. A null is absent (as `AWS::NoValue`; an override of
    /// `null` removes a property).
    pub fn take(&self, key: &str) -> Option<&'a Node> {
        let node = self.map.get(key)?;
        self.taken.borrow_mut().insert(key.to_owned());
        (*node != Node::Null).then_some(node)
    }

    /// The keys of this map, in order.
    pub fn keys(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// Takes a nested map as properties of its own.
    pub fn nested(&self, key: &str) -> Result<Option<Props<'a>>, TemplateError> {
        match self.take(key) {
            None => Ok(None),
            Some(Node::Map(map)) => Ok(Some(Props {
                id: self.id,
                path: self.path_of(key),
                map,
                taken: RefCell::default(),
                origin: self.origin,
                facts: self.facts,
            })),
            Some(other) => Err(self.invalid(key, format!("must be a map, not {}", other.kind()))),
        }
    }

    /// An error naming this property: AWS would refuse the value.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> TemplateError {
        TemplateError::Invalid {
            origin: self.origin.to_owned(),
            logical_id: self.id.to_owned(),
            property: self.path_of(key),
            message: message.into(),
        }
    }

    /// A value that must be known before anything is provisioned (parameters only).
    pub fn static_string(&self, key: &str) -> Result<Option<String>, TemplateError> {
        self.take(key)
            .map(|node| {
                self.facts
                    .string(node)
                    .map_err(|message| TemplateError::Resolve {
                        origin: self.origin.to_owned(),
                        path: format!("{}.{}", self.id, self.path_of(key)),
                        message,
                    })
            })
            .transpose()
    }

    /// A whole number known before provisioning, checked against AWS's range for it.
    pub fn int_in(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, TemplateError> {
        let Some(text) = self.static_string(key)? else {
            return Ok(None);
        };
        let n: i64 = text
            .trim()
            .parse()
            .map_err(|_| self.invalid(key, format!("`{text}` is not a whole number")))?;
        if !range.contains(&n) {
            return Err(self.invalid(
                key,
                format!(
                    "{n} is not valid: AWS accepts {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(Some(n))
    }

    /// A boolean (`true`/`false`, or their strings, as CloudFormation accepts).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, TemplateError> {
        match self.static_string(key)?.as_deref() {
            None => Ok(None),
            Some("true") | Some("True") => Ok(Some(true)),
            Some("false") | Some("False") => Ok(Some(false)),
            Some(other) => Err(self.invalid(key, format!("`{other}` is not a boolean"))),
        }
    }

    /// A list of strings (a single string counts as one).
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, TemplateError> {
        let Some(node) = self.take(key) else {
            return Ok(None);
        };
        let items: Vec<&Node> = match node {
            Node::List(items) => items.iter().collect(),
            other => vec![other],
        };
        items
            .into_iter()
            .map(|item| self.facts.string(item).map_err(|m| self.invalid(key, m)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Every key nobody took is a finding; keys in `no_local_effect` are metadata the harness
    /// knows has no behaviour to simulate (descriptions, tags).
    pub fn finish(self, findings: &mut Vec<Finding>, no_local_effect: &[&str]) {
        let taken = self.taken.borrow();
        for key in self.map.keys() {
            if taken.contains(key) || no_local_effect.contains(&key.as_str()) {
                continue;
            }
            findings.push(Finding {
                logical_id: self.id.to_owned(),
                property: self.path_of(key),
                message: "is not simulated by the harness".to_owned(),
            });
        }
    }
}
