//! EventBridge's ARNs: `arn:aws:events:us-east-1:<account>:event-bus/<name>` for a bus,
//! `rule/<name>` for a rule on the `default` bus and `rule/<bus>/<name>` on another, and
//! the `EventBusName` parameter, which takes a bus's name or its ARN.

/// The region every Hearth ARN names.
pub const REGION: &str = "us-east-1";
/// The bus every account has.
pub const DEFAULT_BUS: &str = "default";

/// A bus's ARN.
pub fn bus_arn(account: &str, name: &str) -> String {
    format!("arn:aws:events:{REGION}:{account}:event-bus/{name}")
}

/// A rule's ARN on the bus `bus` of `account`.
pub fn rule_arn(account: &str, bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        format!("arn:aws:events:{REGION}:{account}:rule/{name}")
    } else {
        format!("arn:aws:events:{REGION}:{account}:rule/{bus}/{name}")
    }
}

/// A bus named by `EventBusName` (absent: `default`): its account and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusRef {
    pub account: String,
    pub name: String,
}

impl BusRef {
    /// The bus `name_or_arn` names for a caller of `account`.
    pub fn of(account: &str, name_or_arn: Option<&str>) -> BusRef {
        let given = name_or_arn.unwrap_or(DEFAULT_BUS);
        if let Some((acct, name)) = parse_bus_arn(given) {
            return BusRef {
                account: acct.to_string(),
                name: name.to_string(),
            };
        }
        BusRef {
            account: account.to_string(),
            name: given.to_string(),
        }
    }

    pub fn arn(&self) -> String {
        bus_arn(&self.account, &self.name)
    }

    pub fn rule_arn(&self, rule: &str) -> String {
        rule_arn(&self.account, &self.name, rule)
    }
}

/// `(account, name)` of a bus ARN.
pub fn parse_bus_arn(arn: &str) -> Option<(&str, &str)> {
    let (account, resource) = events_resource(arn)?;
    let name = resource.strip_prefix("event-bus/")?;
    (!name.is_empty()).then_some((account, name))
}

/// `(account, bus, rule)` of a rule ARN.
pub fn parse_rule_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let (account, resource) = events_resource(arn)?;
    let path = resource.strip_prefix("rule/")?;
    let (bus, name) = path.rsplit_once('/').unwrap_or((DEFAULT_BUS, path));
    (!name.is_empty() && !bus.is_empty()).then_some((account, bus, name))
}

/// `(account, resource)` of an `arn:aws:events:<region>:<account>:<resource>` ARN.
fn events_resource(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:events:")?;
    let mut parts = rest.splitn(3, ':');
    let _region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some((account, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_on_the_default_bus_leave_it_out_of_their_arn() {
        assert_eq!(
            rule_arn("123456789012", "default", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(
            rule_arn("123456789012", "orders", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/orders/r"
        );
        assert_eq!(
            parse_rule_arn("arn:aws:events:us-east-1:123456789012:rule/orders/r"),
            Some(("123456789012", "orders", "r"))
        );
        assert_eq!(
            parse_rule_arn("arn:aws:events:us-east-1:123456789012:rule/r"),
            Some(("123456789012", "default", "r"))
        );
        assert_eq!(parse_rule_arn("arn:aws:sqs:us-east-1:123456789012:q"), None);
    }

    #[test]
    fn event_bus_name_takes_a_name_or_an_arn() {
        let by_arn = BusRef::of(
            "111111111111",
            Some("arn:aws:events:us-east-1:222222222222:event-bus/b"),
        );
        assert_eq!(
            by_arn,
            BusRef {
                account: "222222222222".into(),
                name: "b".into()
            }
        );
        assert_eq!(BusRef::of("111111111111", None).name, "default");
        assert_eq!(
            BusRef::of("111111111111", Some("b")).arn(),
            "arn:aws:events:us-east-1:111111111111:event-bus/b"
        );
    }
}
