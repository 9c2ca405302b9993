//! The fault plan: the installed rules, shared by every SDK client's fault layer and by the
//! event source mappings, and changeable while a run is under way.
//!
//! Rules are consulted in installation order. Every rule that matches a call counts it; the
//! first whose `when` is due fires, and for a request that is the only action taken. A batch
//! delivery gets the faults of every delivery rule that fires on it.

#![warn(missing_docs)]

use std::sync::{Arc, Mutex, MutexGuard};

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sqs::SqsMessage;

use super::event_id::envelope_id;
use super::journal::{FiredFault, Journal};
use super::rule::{
    BatchView, DeliveryAction, Mapping, RequestAction, RequestView, RuleDef, RuleKind, Trigger,
};
use super::spec::FaultSpec;
use crate::esm::hooks::{DeliveryFault, DeliveryHooks};

/// Identifies an installed rule (for [`FaultPlan::remove`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub(crate) u64);

/// An installed rule as reports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSummary {
    /// Its id.
    pub id: RuleId,
    /// Its name (given, or the default such as `sqs:SendMessage:throttle#1`).
    pub name: String,
    /// What it matches, when it fires, and what it does.
    pub def: RuleDef,
    /// Calls (requests or batches) the rule matched.
    pub seen: u64,
    /// Times it fired.
    pub fired: u64,
}

/// A fault plan. Cheap to clone; every clone sees and changes the same rules.
#[derive(Clone)]
pub struct FaultPlan {
    inner: Arc<Inner>,
}

struct Inner {
    rules: Mutex<Rules>,
    /// Physical resource names by the template's logical ids, so a rule may name a resource
    /// as the template does (`EventsQueue`) whatever the template calls it on the backend.
    aliases: Mutex<std::collections::BTreeMap<String, String>>,
    journal: Journal,
    /// Seeds the probability rules that have no seed of their own.
    seed: u64,
}

#[derive(Default)]
struct Rules {
    next_id: u64,
    installed: Vec<Installed>,
    /// Removed rules, kept for their counts and expectations (their guards may outlive them).
    removed: Vec<Installed>,
}

struct Installed {
    id: RuleId,
    name: String,
    def: RuleDef,
    trigger: Trigger,
    /// `expect(n)`: how often the rule must have fired when it is verified.
    expected: Option<u64>,
    /// Set once the expectation was checked (by the guard or the harness), so it is checked once.
    verified: bool,
}

impl Rules {
    fn find(&self, id: RuleId) -> Option<&Installed> {
        self.installed
            .iter()
            .chain(&self.removed)
            .find(|r| r.id == id)
    }

    fn find_mut(&mut self, id: RuleId) -> Option<&mut Installed> {
        self.installed
            .iter_mut()
            .chain(&mut self.removed)
            .find(|r| r.id == id)
    }
}

/// An expectation that did not hold: the rule's name, what was expected, what happened.
fn expectation_failure(rule: &Installed, expected: u64) -> String {
    format!(
        "fault rule {} ({}) was expected to fire {expected} time{} but fired {} (it matched {} call{})",
        rule.name,
        rule.def,
        if expected == 1 { "" } else { "s" },
        rule.trigger.fired(),
        rule.trigger.seen(),
        if rule.trigger.seen() == 1 { "" } else { "s" },
    )
}

/// The request rule that fired on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub rule: String,
    pub action: RequestAction,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .lock()
            .installed
            .iter()
            .map(|r| r.name.clone())
            .collect();
        f.debug_struct("FaultPlan")
            .field("seed", &self.inner.seed)
            .field("rules", &names)
            .finish()
    }
}

impl FaultPlan {
    /// An empty plan with seed 0 and a journal of its own.
    pub fn new() -> Self {
        Self::with_seed(0)
    }

    /// An empty plan whose unseeded probability rules draw from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self::with_journal(Journal::new(), seed)
    }

    /// An empty plan that journals its delivery faults into `journal`.
    pub fn with_journal(journal: Journal, seed: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                rules: Mutex::default(),
                aliases: Mutex::default(),
                journal,
                seed,
            }),
        }
    }

    /// The journal delivery faults are recorded in (give the same one to the HTTP layer).
    pub fn journal(&self) -> Journal {
        self.inner.journal.clone()
    }

    /// The seed of the probability rules that have none of their own.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Installs a rule from a scenario file.
    pub fn install(&self, spec: &FaultSpec) -> RuleId {
        self.install_rule(spec.rule().clone())
    }

    /// Lets rules name resources by logical id: each `(logical, physical)` pair maps a
    /// rule's `resource` to the name requests carry (the harness sets this from the template).
    pub fn set_resource_aliases(&self, aliases: impl IntoIterator<Item = (String, String)>) {
        let mut map = self.inner.aliases.lock().unwrap_or_else(|e| e.into_inner());
        map.extend(aliases);
    }

    /// Installs a rule; it applies to the next call.
    pub fn install_rule(&self, mut def: RuleDef) -> RuleId {
        if let RuleKind::Request { matcher, .. } = &mut def.kind
            && let Some(resource) = &matcher.resource
        {
            let aliases = self.inner.aliases.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(physical) = aliases.get(resource) {
                matcher.resource = Some(physical.clone());
            }
        }
        let mut rules = self.lock();
        rules.next_id += 1;
        let id = RuleId(rules.next_id);
        // Unseeded rules of one plan get distinct, reproducible streams.
        let seed = self.inner.seed ^ id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let name = def.name.clone().unwrap_or_else(|| def.default_name(id.0));
        let trigger = Trigger::new(def.when, def.times, seed);
        tracing::debug!(rule = %name, "fault rule installed");
        rules.installed.push(Installed {
            id,
            name,
            def,
            trigger,
            expected: None,
            verified: false,
        });
        id
    }

    /// Removes one rule; `false` if it was not installed.
    pub fn remove(&self, id: RuleId) -> bool {
        let mut rules = self.lock();
        match rules.installed.iter().position(|r| r.id == id) {
            Some(at) => {
                let rule = rules.installed.remove(at);
                rules.removed.push(rule);
                true
            }
            None => false,
        }
    }

    /// Removes every rule (the journal keeps what it recorded; expectations stay to verify).
    pub fn clear(&self) {
        let mut rules = self.lock();
        let installed = std::mem::take(&mut rules.installed);
        rules.removed.extend(installed);
    }

    /// The name of rule `id` (installed or removed).
    pub fn rule_name(&self, id: RuleId) -> Option<String> {
        self.lock().find(id).map(|r| r.name.clone())
    }

    /// How many times rule `id` fired (0 for an unknown id).
    pub fn rule_fired(&self, id: RuleId) -> u64 {
        self.lock().find(id).map_or(0, |r| r.trigger.fired())
    }

    /// How many calls rule `id` matched (0 for an unknown id).
    pub fn rule_seen(&self, id: RuleId) -> u64 {
        self.lock().find(id).map_or(0, |r| r.trigger.seen())
    }

    /// Expects rule `id` to have fired exactly `n` times when it is verified
    /// ([`FaultPlan::verify_expectation`], which its guard and the harness call on drop).
    pub fn set_expectation(&self, id: RuleId, n: u64) {
        if let Some(rule) = self.lock().find_mut(id) {
            rule.expected = Some(n);
            rule.verified = false;
        }
    }

    /// Checks rule `id`'s expectation once; panics naming the rule when it does not hold.
    pub fn verify_expectation(&self, id: RuleId) {
        let failure = {
            let mut rules = self.lock();
            let Some(rule) = rules.find_mut(id) else {
                return;
            };
            match rule.expected {
                Some(n) if !rule.verified => {
                    rule.verified = true;
                    (rule.trigger.fired() != n).then(|| expectation_failure(rule, n))
                }
                _ => None,
            }
        };
        if let Some(message) = failure {
            panic!("{message}");
        }
    }

    /// Every expectation not verified yet that does not hold, one message each (what the
    /// harness checks when it is dropped). Marks them verified.
    pub fn unmet_expectations(&self) -> Vec<String> {
        let mut rules = self.lock();
        let Rules {
            installed, removed, ..
        } = &mut *rules;
        installed
            .iter_mut()
            .chain(removed.iter_mut())
            .filter_map(|rule| {
                let n = rule.expected.filter(|_| !rule.verified)?;
                rule.verified = true;
                (rule.trigger.fired() != n).then(|| expectation_failure(rule, n))
            })
            .collect()
    }

    /// The installed rules with their counts, in installation order.
    pub fn rules(&self) -> Vec<RuleSummary> {
        self.lock()
            .installed
            .iter()
            .map(|r| RuleSummary {
                id: r.id,
                name: r.name.clone(),
                def: r.def.clone(),
                seen: r.trigger.seen(),
                fired: r.trigger.fired(),
            })
            .collect()
    }

    /// The request rule that fires on this request, if any.
    pub(crate) fn decide_request(&self, request: &RequestView<'_>) -> Option<Decision> {
        let mut rules = self.lock();
        let mut decision = None;
        for rule in &mut rules.installed {
            let RuleKind::Request { matcher, action } = &rule.def.kind else {
                continue;
            };
            if matcher.matches(request) && rule.trigger.on_match(decision.is_some()) {
                decision = Some(Decision {
                    rule: rule.name.clone(),
                    action: action.clone(),
                });
            }
        }
        decision
    }

    /// The delivery rules that fire on this batch, journaled.
    fn decide_delivery(&self, batch: &BatchView<'_>) -> Vec<DeliveryFault> {
        let fired: Vec<(String, DeliveryAction)> = {
            let mut rules = self.lock();
            rules
                .installed
                .iter_mut()
                .filter_map(|rule| {
                    let RuleKind::Delivery { matcher, action } = &rule.def.kind else {
                        return None;
                    };
                    (matcher.matches(batch) && rule.trigger.on_match(false))
                        .then(|| (rule.name.clone(), *action))
                })
                .collect()
        };
        let mut faults = Vec::new();
        for (rule, action) in fired {
            self.inner.journal.record_fired(FiredFault {
                rule,
                service: batch.mapping.name().to_owned(),
                operation: "delivery".to_owned(),
                action: action.name().to_owned(),
                event_ids: batch.event_ids.to_vec(),
                at: self.inner.journal.elapsed(),
            });
            let fault = match action {
                DeliveryAction::Duplicate => DeliveryFault::Duplicate,
                DeliveryAction::CrashBeforeCheckpoint => DeliveryFault::CrashBeforeCheckpoint,
                DeliveryAction::CrashMidBatch => DeliveryFault::CrashMidBatch,
            };
            if !faults.contains(&fault) {
                faults.push(fault);
            }
        }
        faults
    }

    fn lock(&self) -> MutexGuard<'_, Rules> {
        self.inner.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DeliveryHooks for FaultPlan {
    fn on_kinesis_batch(
        &self,
        shard_id: &str,
        records: &[KinesisEventRecord],
    ) -> Vec<DeliveryFault> {
        let ids: Vec<String> = records
            .iter()
            .filter_map(|r| envelope_id(&r.kinesis.data.0))
            .collect();
        self.decide_delivery(&BatchView {
            mapping: Mapping::Kinesis,
            source: shard_id,
            event_ids: &ids,
        })
    }

    fn on_sqs_batch(&self, queue: &str, messages: &[SqsMessage]) -> Vec<DeliveryFault> {
        let ids: Vec<String> = messages
            .iter()
            .filter_map(|m| envelope_id(m.body.as_deref()?.as_bytes()))
            .collect();
        self.decide_delivery(&BatchView {
            mapping: Mapping::Sqs,
            source: queue,
            event_ids: &ids,
        })
    }
}

#[cfg(test)]
mod tests;
