//! Capacity accounting and throttling (AWS-SEMANTICS.md 5.3), sans-io.
//!
//! Units follow DynamoDB: a write costs one write unit per KB (rounded up), a strongly
//! consistent read one read unit per 4 KB, an eventually consistent read half that. Limits are
//! per-second buckets over the request time: per table (on-demand: 4,000 WRU/s and
//! 12,000 RRU/s for a new table; provisioned: its WCU/RCU) and per partition key (1,000 WCU/s,
//! 3,000 RCU/s). On-demand's scaling with the previous peak is not modelled: the limits stay
//! where the configuration puts them.

use std::collections::HashMap;

use serde_json::json;

use super::DynamoDbConfig;
use super::table::Billing;
use super::value::KeyValue;
use crate::aws_error;
use crate::clock::Millis;
use crate::error::AwsError;

/// Write units for an item of `size` bytes (at least one).
pub fn write_units(size: usize) -> u64 {
    (size.div_ceil(1024) as u64).max(1)
}

/// Read units, in *half* units so eventually consistent reads stay exact, for `size` bytes.
pub fn read_half_units(size: usize, consistent: bool) -> u64 {
    let units = (size.div_ceil(4096) as u64).max(1);
    if consistent { units * 2 } else { units }
}

/// Capacity used in the current second, per table and per partition key.
#[derive(Debug, Default)]
pub struct Throughput {
    second: i64,
    write: u64,
    read_half: u64,
    partitions: HashMap<KeyValue, (u64, u64)>,
}

/// What one request costs: write units or half read units, and the partition it hits.
#[derive(Debug, Clone, Copy)]
pub struct Cost<'a> {
    pub kind: Kind,
    pub partition: Option<&'a KeyValue>,
    pub units: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

impl Throughput {
    fn roll(&mut self, now: Millis) {
        let second = now.div_euclid(1000);
        if second != self.second {
            self.second = second;
            self.write = 0;
            self.read_half = 0;
            self.partitions.clear();
        }
    }

    /// Charges `units` (write units, or half read units) to the table and, when given, to a
    /// partition key; refuses with AWS's throttling error if either limit would be exceeded.
    pub fn charge(
        &mut self,
        config: &DynamoDbConfig,
        billing: Billing,
        table_arn: &str,
        cost: Cost<'_>,
        now: Millis,
    ) -> Result<(), AwsError> {
        let Cost {
            kind,
            partition,
            units,
        } = cost;
        if !config.enforce_throughput {
            return Ok(());
        }
        self.roll(now);
        // Limits in the same unit as the charge (half units for reads).
        let (table_limit, partition_limit) = match (kind, billing) {
            (Kind::Write, Billing::PayPerRequest) => {
                (config.on_demand_write_units, config.partition_write_units)
            }
            (Kind::Write, Billing::Provisioned { write, .. }) => {
                (write, config.partition_write_units)
            }
            (Kind::Read, Billing::PayPerRequest) => (
                config.on_demand_read_units * 2,
                config.partition_read_units * 2,
            ),
            (Kind::Read, Billing::Provisioned { read, .. }) => {
                (read * 2, config.partition_read_units * 2)
            }
        };
        let table_used = match kind {
            Kind::Write => self.write,
            Kind::Read => self.read_half,
        };
        let partition_used = partition
            .and_then(|p| self.partitions.get(p))
            .map(|(w, r)| if kind == Kind::Write { *w } else { *r })
            .unwrap_or(0);
        let over_table = table_used + units > table_limit;
        let over_partition = partition.is_some() && partition_used + units > partition_limit;
        if over_table || over_partition {
            return Err(throttled(billing, table_arn, kind, over_table));
        }
        match kind {
            Kind::Write => self.write += units,
            Kind::Read => self.read_half += units,
        }
        if let Some(p) = partition {
            let entry = self.partitions.entry(p.clone()).or_default();
            match kind {
                Kind::Write => entry.0 += units,
                Kind::Read => entry.1 += units,
            }
        }
        Ok(())
    }
}

fn throttled(billing: Billing, arn: &str, kind: Kind, whole_table: bool) -> AwsError {
    let op = if kind == Kind::Write { "Write" } else { "Read" };
    let cause = match (whole_table, billing) {
        (false, _) => "KeyRangeThroughputExceeded",
        (true, Billing::PayPerRequest) => "MaxOnDemandThroughputExceeded",
        (true, Billing::Provisioned { .. }) => "ProvisionedThroughputExceeded",
    };
    let reasons = json!([{ "reason": format!("Table{op}{cause}"), "resource": arn }]);
    // The two shapes spell the member differently in DynamoDB's model.
    match billing {
        Billing::PayPerRequest => aws_error!(
            ThrottlingException,
            "Rate of requests exceeds the allowed throughput."
        )
        .with_field("throttlingReasons", reasons),
        Billing::Provisioned { .. } => aws_error!(
            ProvisionedThroughputExceededException,
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
        )
        .with_field("ThrottlingReasons", reasons),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DynamoDbConfig {
        DynamoDbConfig {
            enforce_throughput: true,
            on_demand_write_units: 10,
            on_demand_read_units: 10,
            partition_write_units: 4,
            partition_read_units: 100,
        }
    }

    #[test]
    fn units_round_up() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_half_units(4097, true), 4);
        assert_eq!(read_half_units(100, false), 1);
    }

    #[test]
    fn a_hot_partition_throttles_before_the_table_limit() {
        let mut t = Throughput::default();
        let key = KeyValue::S("hot".into());
        let charge = |t: &mut Throughput, key: &KeyValue, now| {
            let cost = Cost {
                kind: Kind::Write,
                partition: Some(key),
                units: 1,
            };
            t.charge(&config(), Billing::PayPerRequest, "arn", cost, now)
        };
        for _ in 0..4 {
            charge(&mut t, &key, 1_000).unwrap();
        }
        let err = charge(&mut t, &key, 1_500).unwrap_err();
        assert_eq!(err.code, "ThrottlingException");
        assert_eq!(
            err.message,
            "Rate of requests exceeds the allowed throughput."
        );
        // Other keys still have table capacity left (6 of 10 units).
        for i in 0..6 {
            charge(&mut t, &KeyValue::S(format!("k{i}")), 1_999).unwrap();
        }
        assert!(charge(&mut t, &KeyValue::S("k9".into()), 1_999).is_err());
        // A new second refills the buckets.
        charge(&mut t, &key, 2_000).unwrap();
    }

    #[test]
    fn provisioned_tables_answer_provisioned_throughput_exceeded() {
        let mut t = Throughput::default();
        let billing = Billing::Provisioned { read: 1, write: 1 };
        t.charge(
            &config(),
            billing,
            "arn",
            Cost {
                kind: Kind::Read,
                partition: None,
                units: 2,
            },
            0,
        )
        .unwrap();
        let err = t
            .charge(
                &config(),
                billing,
                "arn",
                Cost {
                    kind: Kind::Read,
                    partition: None,
                    units: 1,
                },
                10,
            )
            .unwrap_err();
        assert_eq!(err.code, "ProvisionedThroughputExceededException");
    }

    #[test]
    fn nothing_is_limited_when_switched_off() {
        let mut t = Throughput::default();
        let off = DynamoDbConfig::default();
        for _ in 0..10_000 {
            t.charge(
                &off,
                Billing::PayPerRequest,
                "arn",
                Cost {
                    kind: Kind::Write,
                    partition: None,
                    units: 1,
                },
                0,
            )
            .unwrap();
        }
    }
}
