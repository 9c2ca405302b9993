//! `template.yaml`, the single source of truth: the harness reads the same AWS SAM template
//! that `sam deploy` ships and builds its whole pipeline from it: resources and their names,
//! queue attributes and redrive policy, shards, the table's keys, each function's environment
//! and timeout, the event source mappings, the API's stage, key and throttling.
//!
//! - [`node`]: template values and intrinsic functions; [`resolve`]: evaluating them.
//! - [`props`]: reading a resource's properties, noting every one left unread.
//! - [`spec`]: the typed pipeline a template describes ([`PipelineSpec`]), with AWS's own
//!   validation of what the harness reads.
//! - [`policy`]: IAM statements, checked against the calls each function makes.
//!
//! Invariant: nothing in a template is silently ignored. A resource type, property or value
//! the harness does not simulate is a [`Finding`]; [`PipelineSpec::compile`] refuses the
//! template unless the finding is accepted ([`Acceptance`]), and the report names what was.

pub mod node;
pub mod policy;
pub mod props;
pub mod resolve;
pub mod spec;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

pub use node::{Node, NodeError};
pub use resolve::{Facts, ResourceFacts};
pub use spec::PipelineSpec;

/// The project's template, relative to the workspace root.
pub const DEFAULT_TEMPLATE: &str = "template.yaml";

/// The SAM transform a template must declare.
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template file could not be read.
    #[error("cannot read the template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The template is not YAML.
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        /// Where the text came from (a path, or what the caller named it).
        path: String,
        /// The YAML parser's error, with its line and column.
        source: serde_yaml_ng::Error,
    },
    /// A value the harness cannot read (an unknown intrinsic function, a tag it does not know).
    #[error("{origin}: {source}")]
    Node {
        /// Where the template came from.
        origin: String,
        /// The value and what is wrong with it.
        source: NodeError,
    },
    /// AWS itself would refuse this value.
    #[error("{origin}: {logical_id}: {property}: {message}")]
    Invalid {
        /// Where the template came from.
        origin: String,
        /// The resource.
        logical_id: String,
        /// The property path under it.
        property: String,
        /// What AWS would say.
        message: String,
    },
    /// What the harness does not simulate, and nobody accepted.
    #[error(
        "{origin}: the harness does not simulate {} part(s) of this template:\n{}\n\
         (accept one with --accept-unsupported LogicalId.Property, or all with --accept-unsupported all)",
        findings.len(),
        findings.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
    )]
    Unsupported {
        /// Where the template came from.
        origin: String,
        /// Each part not simulated.
        findings: Vec<Finding>,
    },
    /// The template does not describe a pipeline the harness can run (named in the message).
    #[error("{origin}: {message}")]
    Pipeline {
        /// Where the template came from.
        origin: String,
        /// What is missing or wrong.
        message: String,
    },
    /// A value could not be evaluated (a `Ref` to nothing, a missing attribute).
    #[error("{origin}: cannot evaluate {path}: {message}")]
    Resolve {
        /// Where the template came from.
        origin: String,
        /// The value's path (`Resources.X.Properties.Y`).
        path: String,
        /// Why it cannot be evaluated.
        message: String,
    },
}

/// Something a template says that the harness does not simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The resource.
    pub logical_id: String,
    /// The property path under the resource (`StreamEncryption`, `Events.Stream.Properties.X`),
    /// or `Type` for a resource type.
    pub property: String,
    /// Why the harness does not simulate it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.logical_id, self.property, self.message)
    }
}

impl Finding {
    /// `LogicalId.Property`, the form `--accept-unsupported` takes.
    pub fn key(&self) -> String {
        format!("{}.{}", self.logical_id, self.property)
    }
}

/// Which findings the user accepts: `all`, or `LogicalId.Property` entries (a prefix up to a
/// dot accepts everything under it: `EventsStream` accepts all of that resource).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acceptance {
    entries: Vec<String>,
}

impl Acceptance {
    /// Accepts `entries` (`all`, or `LogicalId.Property` keys or prefixes of them).
    pub fn new(entries: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Acceptance {
            entries: entries.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `finding` is accepted.
    pub fn accepts(&self, finding: &Finding) -> bool {
        let key = finding.key();
        self.entries.iter().any(|entry| {
            entry == "all"
                || entry == &key
                || key
                    .strip_prefix(entry.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

/// A template's parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// `Type` (`String`, `Number`, ...).
    pub kind: String,
    /// `Default`, as a string (the value used unless overridden).
    pub default: Option<String>,
    /// The other properties (`AllowedValues`, `Description`, ...).
    pub properties: BTreeMap<String, Node>,
}

/// A resource as written: its type, properties and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `Type` (`AWS::Serverless::Function`, `AWS::SQS::Queue`, ...).
    pub kind: String,
    /// `Properties`, `Globals.Function` merged into functions.
    pub properties: BTreeMap<String, Node>,
    /// `Metadata` (`BuildMethod`, ...).
    pub metadata: Option<Node>,
    /// Attributes other than Type/Properties/Metadata (DependsOn, Condition, ...).
    pub attributes: BTreeMap<String, Node>,
}

/// An output: a value `harness up` prints, resolved against the local pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `Value`, to evaluate once the pipeline runs.
    pub value: Node,
    /// `Description`.
    pub description: Option<String>,
}

/// A parsed template, before it is checked and compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Where it came from, for messages.
    pub origin: String,
    /// `Transform` (must be [`SAM_TRANSFORM`]).
    pub transform: Option<String>,
    /// `Parameters`, by name.
    pub parameters: BTreeMap<String, Parameter>,
    /// `Resources`, by logical id.
    pub resources: BTreeMap<String, Resource>,
    /// `Outputs`, by name.
    pub outputs: BTreeMap<String, Output>,
    /// Top-level sections other than the ones above (Conditions, Mappings, ...).
    pub other_sections: Vec<String>,
}

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The project's own `template.yaml` (the one `sam deploy` ships), found from the
    /// workspace root: `HARNESS_TEMPLATE` if set, else `template.yaml` in the current
    /// directory or the nearest parent that has one.
    pub fn project() -> Result<Template, TemplateError> {
        Self::load(&project_template_path())
    }

    /// Parses template text; `origin` names it in messages. `Globals.Function` is merged into
    /// every `AWS::Serverless::Function` here, as SAM does. Parsing checks only the shape;
    /// [`PipelineSpec::compile`] then reads the pipeline out of it, refusing what AWS would
    /// refuse and what the harness does not simulate.
    ///
    /// ```
    /// use harness::template::spec::CompileOptions;
    /// use harness::template::{Node, PipelineSpec, Template};
    ///
    /// # fn main() -> Result<(), harness::template::TemplateError> {
    /// let text = r#"
    /// Transform: AWS::Serverless-2016-10-31
    /// Globals:
    ///   Function:
    ///     Timeout: 5
    /// Resources:
    ///   EventsQueue:
    ///     Type: AWS::SQS::Queue
    ///     Properties:
    ///       VisibilityTimeout: 30
    ///   StoreFunction:
    ///     Type: AWS::Serverless::Function
    ///     Properties:
    ///       Handler: bootstrap
    /// "#;
    /// let template = Template::parse(text, "inline")?;
    /// assert_eq!(template.resources["EventsQueue"].kind, "AWS::SQS::Queue");
    /// // Globals.Function is merged into every function.
    /// let store = &template.resources["StoreFunction"].properties;
    /// assert_eq!(store["Timeout"], Node::Number("5".into()));
    ///
    /// // The project's own template, compiled into the pipeline the harness runs, with one
    /// // value changed as `HarnessOptions::set` would.
    /// let mut project = Template::load("../template.yaml".as_ref())?;
    /// project.set_property("EventsQueue.VisibilityTimeout", Node::Number("60".into()))?;
    /// let spec = PipelineSpec::compile(&project, &CompileOptions::default())?;
    /// let queue = &spec.queues["EventsQueue"];
    /// assert_eq!(queue.visibility_timeout, std::time::Duration::from_secs(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(text: &str, origin: &str) -> Result<Template, TemplateError> {
        let value: Value = serde_yaml_ng::from_str(text).map_err(|source| TemplateError::Yaml {
            path: origin.to_owned(),
            source,
        })?;
        let node_err = |source: NodeError| TemplateError::Node {
            origin: origin.to_owned(),
            source,
        };
        let pipeline = |message: String| TemplateError::Pipeline {
            origin: origin.to_owned(),
            message,
        };
        let Node::Map(top) = Node::from_yaml(&value, "").map_err(node_err)? else {
            return Err(pipeline("a template is a map of sections".into()));
        };
        let mut template = Template {
            origin: origin.to_owned(),
            transform: None,
            parameters: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            other_sections: Vec::new(),
        };
        let mut globals = None;
        for (section, node) in top {
            match section.as_str() {
                "AWSTemplateFormatVersion" | "Description" => {}
                "Transform" => template.transform = node.literal(),
                "Globals" => globals = Some(node),
                "Parameters" => template.parameters = parameters(node, &pipeline)?,
                "Resources" => template.resources = resources(node, &pipeline)?,
                "Outputs" => template.outputs = outputs(node, &pipeline)?,
                _ => template.other_sections.push(section),
            }
        }
        if let Some(globals) = globals {
            template.merge_globals(globals, &pipeline)?;
        }
        Ok(template)
    }

    /// SAM's Globals: `Function` properties apply to every function that does not set them
    /// (maps such as `Environment.Variables` merge, the function's entries winning). Other
    /// Globals sections are reported as unsupported by [`PipelineSpec::compile`].
    fn merge_globals(
        &mut self,
        globals: Node,
        pipeline: &impl Fn(String) -> TemplateError,
    ) -> Result<(), TemplateError> {
        let Node::Map(sections) = globals else {
            return Err(pipeline("Globals must be a map".into()));
        };
        for (section, node) in sections {
            if section != "Function" {
                self.other_sections.push(format!("Globals.{section}"));
                continue;
            }
            let Node::Map(defaults) = node else {
                return Err(pipeline("Globals.Function must be a map".into()));
            };
            for resource in self.resources.values_mut() {
                if resource.kind != "AWS::Serverless::Function" {
                    continue;
                }
                for (key, value) in &defaults {
                    merge_default(&mut resource.properties, key, value);
                }
            }
        }
        Ok(())
    }

    /// Adds the resources of a YAML file (a map of logical ids, as under `Resources`) to the
    /// template: a scenario's extra consumer. A logical id the template has is refused.
    pub fn add_resources(&mut self, path: &Path) -> Result<(), TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        let value: Value =
            serde_yaml_ng::from_str(&text).map_err(|source| TemplateError::Yaml {
                path: origin.clone(),
                source,
            })?;
        let node = Node::from_yaml(&value, "").map_err(|source| TemplateError::Node {
            origin: origin.clone(),
            source,
        })?;
        let pipeline = |message: String| TemplateError::Pipeline {
            origin: origin.clone(),
            message,
        };
        for (id, resource) in resources(node, &pipeline)? {
            if self.resources.contains_key(&id) {
                return Err(pipeline(format!(
                    "{id} is already a resource of {}",
                    self.origin
                )));
            }
            self.resources.insert(id, resource);
        }
        Ok(())
    }

    /// Replaces one property before the template is compiled: `path` is
    /// `LogicalId.Property[.Sub...]` under the resource's `Properties`
    /// (`EventsQueue.VisibilityTimeout`, `StoreFunction.Events.Queue.Properties.BatchSize`,
    /// `ForwardFunction.Environment.Variables.MAX_ATTEMPTS`). Returns the value it replaced.
    pub fn set_property(&mut self, path: &str, value: Node) -> Result<Option<Node>, TemplateError> {
        let fail = |message: String| TemplateError::Pipeline {
            origin: self.origin.clone(),
            message: format!("cannot override {path}: {message}"),
        };
        let mut parts = path.split('.');
        let id = parts.next().unwrap_or_default();
        let keys: Vec<&str> = parts.collect();
        if keys.is_empty() {
            return Err(fail("name a property: LogicalId.Property".into()));
        }
        let Some(resource) = self.resources.get_mut(id) else {
            return Err(fail(format!("the template has no resource {id}")));
        };
        let mut map = &mut resource.properties;
        for key in &keys[..keys.len() - 1] {
            let entry = map
                .entry((*key).to_owned())
                .or_insert_with(|| Node::Map(BTreeMap::new()));
            match entry {
                Node::Map(inner) => map = inner,
                other => return Err(fail(format!("{key} is {}, not a map", other.kind()))),
            }
        }
        Ok(map.insert(keys[keys.len() - 1].to_owned(), value))
    }
}

/// Where the project's template is: `HARNESS_TEMPLATE`, else `template.yaml` in the current
/// directory or its nearest ancestor that has one (so `cargo test` finds it from any crate).
pub fn project_template_path() -> PathBuf {
    if let Some(path) = std::env::var_os("HARNESS_TEMPLATE") {
        return PathBuf::from(path);
    }
    let start = std::env::current_dir().unwrap_or_default();
    start
        .ancestors()
        .map(|dir| dir.join(DEFAULT_TEMPLATE))
        .find(|candidate| candidate.is_file())
        // The harness crate's own workspace, when run from elsewhere (an outside crate's test).
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(DEFAULT_TEMPLATE)
        })
}

fn merge_default(target: &mut BTreeMap<String, Node>, key: &str, value: &Node) {
    match (target.get_mut(key), value) {
        (None, _) => {
            target.insert(key.to_owned(), value.clone());
        }
        (Some(Node::Map(own)), Node::Map(defaults)) => {
            for (k, v) in defaults {
                merge_default(own, k, v);
            }
        }
        (Some(_), _) => {}
    }
}

fn parameters(
    node: Node,
    pipeline: &impl Fn(String) -> TemplateError,
) -> Result<BTreeMap<String, Parameter>, TemplateError> {
    let Node::Map(map) = node else {
        return Err(pipeline("Parameters must be a map".into()));
    };
    map.into_iter()
        .map(|(name, node)| {
            let Node::Map(mut props) = node else {
                return Err(pipeline(format!("parameter {name} must be a map")));
            };
            let kind = props
                .remove("Type")
                .and_then(|t| t.literal())
                .ok_or_else(|| pipeline(format!("parameter {name} has no Type")))?;
            let default = props.remove("Default").and_then(|d| d.literal());
            Ok((
                name,
                Parameter {
                    kind,
                    default,
                    properties: props,
                },
            ))
        })
        .collect()
}

fn resources(
    node: Node,
    pipeline: &impl Fn(String) -> TemplateError,
) -> Result<BTreeMap<String, Resource>, TemplateError> {
    let Node::Map(map) = node else {
        return Err(pipeline("Resources must be a map".into()));
    };
    map.into_iter()
        .map(|(id, node)| {
            let Node::Map(mut attrs) = node else {
                return Err(pipeline(format!("resource {id} must be a map")));
            };
            let kind = attrs
                .remove("Type")
                .and_then(|t| t.literal())
                .ok_or_else(|| pipeline(format!("resource {id} has no Type")))?;
            let properties = match attrs.remove("Properties") {
                None | Some(Node::Null) => BTreeMap::new(),
                Some(Node::Map(p)) => p,
                Some(other) => {
                    return Err(pipeline(format!(
                        "{id}: Properties must be a map, not {}",
                        other.kind()
                    )));
                }
            };
            let metadata = attrs.remove("Metadata");
            Ok((
                id,
                Resource {
                    kind,
                    properties,
                    metadata,
                    attributes: attrs,
                },
            ))
        })
        .collect()
}

fn outputs(
    node: Node,
    pipeline: &impl Fn(String) -> TemplateError,
) -> Result<BTreeMap<String, Output>, TemplateError> {
    let Node::Map(map) = node else {
        return Err(pipeline("Outputs must be a map".into()));
    };
    map.into_iter()
        .map(|(name, node)| {
            let value = node
                .get("Value")
                .cloned()
                .ok_or_else(|| pipeline(format!("output {name} has no Value")))?;
            let description = node.get("Description").and_then(Node::literal);
            Ok((name, Output { value, description }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_fill_in_what_a_function_does_not_set() {
        let t = Template::parse(
            r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 7
    Environment: {Variables: {A: "1", B: "2"}}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 3
      Environment: {Variables: {B: "own"}}
"#,
            "t.yaml",
        )
        .unwrap();
        let props = &t.resources["F"].properties;
        assert_eq!(props["Timeout"], Node::Number("3".into()));
        let vars = props["Environment"].get("Variables").unwrap();
        assert_eq!(vars.get("A"), Some(&Node::Str("1".into())));
        assert_eq!(vars.get("B"), Some(&Node::Str("own".into())));
    }

    #[test]
    fn acceptance_matches_whole_keys_and_resource_prefixes() {
        let finding = Finding {
            logical_id: "EventsStream".into(),
            property: "StreamEncryption".into(),
            message: "is not emulated".into(),
        };
        assert!(Acceptance::new(["EventsStream.StreamEncryption"]).accepts(&finding));
        assert!(Acceptance::new(["EventsStream"]).accepts(&finding));
        assert!(Acceptance::new(["all"]).accepts(&finding));
        assert!(!Acceptance::new(["EventsStreamX"]).accepts(&finding));
        assert!(!Acceptance::new(["EventsStream.Stream"]).accepts(&finding));
        assert!(!Acceptance::default().accepts(&finding));
    }

    #[test]
    fn set_property_replaces_nested_values() {
        let mut t = Template::parse(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: 30}\n",
            "t",
        )
        .unwrap();
        let old = t
            .set_property("Q.VisibilityTimeout", Node::Number("2".into()))
            .unwrap();
        assert_eq!(old, Some(Node::Number("30".into())));
        t.set_property("Q.RedrivePolicy.maxReceiveCount", Node::Number("2".into()))
            .unwrap();
        assert!(t.set_property("Nope.X", Node::Null).is_err());
    }
}
