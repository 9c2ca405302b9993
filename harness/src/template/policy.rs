//! IAM: the statements in a function's `Policies`, and the check that they allow every call
//! the function makes: its binary's calls (known from the code: the forward handler sends to
//! the queue and the DLQ, ...) and its event sources' (what Lambda's execution role needs for
//! a Kinesis or SQS mapping, per the Lambda developer guide). The emulator does not enforce
//! IAM, so without this check a missing permission would first show on AWS.

use super::Finding;
use super::node::Node;
use super::resolve::Facts;
use super::spec::{Binary, EventSource, FunctionSpec, PipelineSpec};

/// One statement of an inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Effect: Allow` (`false`: `Deny`).
    pub allow: bool,
    /// The actions (`sqs:SendMessage`, `dynamodb:*`, ...).
    pub actions: Vec<String>,
    /// Resource ARNs (or patterns), evaluated once the resources exist.
    pub resources: Vec<Node>,
}

/// Reads `Policies`: inline documents (`- Statement: [...]`, or a map with `Statement`).
/// Managed policy names and SAM policy templates are findings: the harness cannot see what
/// they grant, so it cannot check the function's calls against them.
pub fn statements(
    node: &Node,
    id: &str,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Statement>, String> {
    let entries: Vec<&Node> = match node {
        Node::List(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        match entry.get("Statement") {
            Some(Node::List(list)) => {
                for s in list {
                    out.push(statement(s)?);
                }
            }
            Some(single @ Node::Map(_)) => out.push(statement(single)?),
            _ => findings.push(Finding {
                logical_id: id.to_owned(),
                property: format!("Policies[{i}]"),
                message: format!(
                    "({entry}) is not checked by the harness: it checks inline statements \
                     against the calls the function makes; write the statements out"
                ),
            }),
        }
    }
    Ok(out)
}

fn statement(node: &Node) -> Result<Statement, String> {
    let allow = match node.get("Effect").and_then(Node::literal).as_deref() {
        Some("Allow") => true,
        Some("Deny") => false,
        other => {
            return Err(format!(
                "a statement's Effect must be Allow or Deny, not {other:?}"
            ));
        }
    };
    if node.get("NotAction").is_some()
        || node.get("NotResource").is_some()
        || node.get("Condition").is_some()
    {
        return Err("NotAction, NotResource and Condition in statements are not simulated".into());
    }
    let actions = match node.get("Action") {
        Some(Node::List(items)) => items.iter().filter_map(Node::literal).collect(),
        Some(one) => one.literal().into_iter().collect(),
        None => return Err("a statement needs an Action".into()),
    };
    let resources = match node.get("Resource") {
        Some(Node::List(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => return Err("a statement needs a Resource".into()),
    };
    Ok(Statement {
        allow,
        actions,
        resources,
    })
}

/// A call a function makes: the action, the resource's ARN, and why it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The IAM action (`sqs:SendMessage`).
    pub action: &'static str,
    /// The resource's ARN.
    pub arn: String,
    /// Why the function calls it (for the error naming a missing permission).
    pub why: String,
}

/// Every call `function` makes, on the resources of `spec`.
pub fn needs(spec: &PipelineSpec, id: &str, function: &FunctionSpec, facts: &Facts) -> Vec<Need> {
    let arn = |logical: &str| {
        facts
            .resources
            .get(logical)
            .and_then(|r| r.attributes.get("Arn"))
            .cloned()
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let env = spec.environment(id, facts).unwrap_or_default();
    match function.binary {
        Some(Binary::Ingest) => {
            let streams = env.get("STREAMS").cloned().unwrap_or_default();
            let batch = env.get("BATCH_PUTS").is_some_and(|v| v == "true");
            for (logical, stream) in &spec.streams {
                let named = streams
                    .split(',')
                    .filter_map(|pair| pair.split_once('='))
                    .any(|(_, s)| s.trim() == stream.name);
                if named {
                    let action = if batch {
                        "kinesis:PutRecords"
                    } else {
                        "kinesis:PutRecord"
                    };
                    out.push(Need {
                        action,
                        arn: arn(logical),
                        why: "the ingest API puts each event on it".into(),
                    });
                }
            }
        }
        Some(Binary::Forward) => {
            for (var, why) in [
                ("QUEUE_URL", "the forward handler sends each envelope there"),
                (
                    "DLQ_URL",
                    "the forward handler sends failed envelopes there",
                ),
            ] {
                if let Some((logical, _)) = env.get(var).and_then(|url| queue_by_url(facts, url)) {
                    out.push(Need {
                        action: "sqs:SendMessage",
                        arn: arn(&logical),
                        why: why.into(),
                    });
                }
            }
        }
        Some(Binary::Store) => {
            if let Some(table) = env.get("TABLE_NAME")
                && let Some((logical, _)) = spec.tables.iter().find(|(_, t)| &t.name == table)
            {
                out.push(Need {
                    action: "dynamodb:PutItem",
                    arn: arn(logical),
                    why: "the store handler writes each item there".into(),
                });
            }
            if let Some((logical, _)) = env.get("DLQ_URL").and_then(|url| queue_by_url(facts, url))
            {
                out.push(Need {
                    action: "sqs:SendMessage",
                    arn: arn(&logical),
                    why: "the store handler sends conflicting envelopes there".into(),
                });
            }
        }
        None => {}
    }
    for event in &function.events {
        match &event.source {
            EventSource::Kinesis(k) => {
                for action in [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ] {
                    out.push(Need {
                        action,
                        arn: arn(&k.stream),
                        why: format!("its Kinesis event source {} reads the stream", event.name),
                    });
                }
                out.push(Need {
                    action: "kinesis:ListStreams",
                    arn: "*".into(),
                    why: format!("its Kinesis event source {} lists streams", event.name),
                });
                if let Some(dest) = &k.on_failure {
                    out.push(Need {
                        action: "sqs:SendMessage",
                        arn: arn(dest),
                        why: format!("its event source {}'s on-failure destination", event.name),
                    });
                }
            }
            EventSource::Sqs(s) => {
                for action in [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ] {
                    out.push(Need {
                        action,
                        arn: arn(&s.queue),
                        why: format!("its SQS event source {} polls the queue", event.name),
                    });
                }
            }
            EventSource::Api(_) => {}
        }
    }
    out
}

fn queue_by_url(facts: &Facts, url: &str) -> Option<(String, String)> {
    facts
        .resources
        .iter()
        .find(|(_, r)| r.attributes.get("QueueUrl").is_some_and(|u| u == url))
        .map(|(id, r)| (id.clone(), r.reference.clone()))
}

/// Refuses the function when a call it makes is not allowed (or is denied).
pub fn check(
    id: &str,
    function: &FunctionSpec,
    needs: &[Need],
    facts: &Facts,
) -> Result<(), String> {
    let mut resolved = Vec::new();
    for s in &function.statements {
        let resources = s
            .resources
            .iter()
            .map(|r| facts.string(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{id}: Policies: {e}"))?;
        resolved.push((s, resources));
    }
    let matches = |s: &Statement, resources: &[String], need: &Need| {
        s.actions.iter().any(|a| glob(a, need.action))
            && resources.iter().any(|r| glob(r, &need.arn))
    };
    let missing: Vec<String> = needs
        .iter()
        .filter(|need| {
            let allowed = resolved.iter().any(|(s, r)| s.allow && matches(s, r, need));
            let denied = resolved
                .iter()
                .any(|(s, r)| !s.allow && matches(s, r, need));
            !allowed || denied
        })
        .map(|need| format!("  {} on {} ({})", need.action, need.arn, need.why))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{id}: its Policies do not allow every call it makes, so it would fail on AWS:\n{}",
            missing.join("\n")
        ))
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one; actions compare without case.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if pattern.contains(':') && !pattern.starts_with("arn:") {
        (
            pattern.to_ascii_lowercase().chars().collect(),
            text.to_ascii_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative match with backtracking to the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_wildcards_match_actions_without_case_and_arns_exactly() {
        assert!(glob("sqs:SendMessage", "sqs:SendMessage"));
        assert!(glob("sqs:send*", "sqs:SendMessage"));
        assert!(glob("*", "kinesis:GetRecords"));
        assert!(!glob("sqs:Receive*", "sqs:SendMessage"));
        assert!(glob("arn:aws:sqs:*:*:q-*", "arn:aws:sqs:us-east-1:0:q-1"));
        assert!(!glob(
            "arn:aws:sqs:us-east-1:0:q",
            "arn:aws:sqs:us-east-1:0:q-dlq"
        ));
        assert!(glob("*", "*"));
    }
}
