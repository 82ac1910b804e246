//! EventBridge Scheduler's ARNs: `arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`
//! for a schedule and `…:schedule-group/<name>` for a group, in the one region every Hearth
//! ARN names.

pub use hearth_eventbridge::arn::REGION;

/// The group every account has, made on first use; it cannot be deleted.
pub const DEFAULT_GROUP: &str = "default";

/// A schedule group's ARN.
pub fn group_arn(account: &str, group: &str) -> String {
    format!("arn:aws:scheduler:{REGION}:{account}:schedule-group/{group}")
}

/// A schedule's ARN.
pub fn schedule_arn(account: &str, group: &str, name: &str) -> String {
    format!("arn:aws:scheduler:{REGION}:{account}:schedule/{group}/{name}")
}

/// `(account, group)` of a schedule group's ARN (any region and partition, as the model's
/// `TagResourceArn` pattern allows).
pub fn parse_group_arn(arn: &str) -> Option<(&str, &str)> {
    let (account, resource) = scheduler_resource(arn)?;
    let name = resource.strip_prefix("schedule-group/")?;
    (!name.is_empty() && !name.contains('/')).then_some((account, name))
}

/// `(account, group, name)` of a schedule's ARN.
pub fn parse_schedule_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let (account, resource) = scheduler_resource(arn)?;
    let (group, name) = resource.strip_prefix("schedule/")?.split_once('/')?;
    (!group.is_empty() && !name.is_empty() && !name.contains('/')).then_some((account, group, name))
}

/// `(account, resource)` of an `arn:aws[-x]:scheduler:<region>:<account>:<resource>` ARN.
fn scheduler_resource(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("scheduler"), Some(_region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let resource = parts.next()?;
    (partition.starts_with("aws")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit()))
    .then_some((account, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_made_and_read_back() {
        let g = group_arn("123456789012", "ops");
        assert_eq!(
            g,
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/ops"
        );
        assert_eq!(parse_group_arn(&g), Some(("123456789012", "ops")));
        let s = schedule_arn("123456789012", "ops", "nightly");
        assert_eq!(
            s,
            "arn:aws:scheduler:us-east-1:123456789012:schedule/ops/nightly"
        );
        assert_eq!(
            parse_schedule_arn(&s),
            Some(("123456789012", "ops", "nightly"))
        );
        assert_eq!(parse_group_arn(&s), None);
        assert_eq!(parse_schedule_arn(&g), None);
        assert_eq!(
            parse_group_arn("arn:aws:events:us-east-1:123456789012:schedule-group/x"),
            None
        );
        assert_eq!(
            parse_group_arn("arn:aws:scheduler:us-east-1:12345:schedule-group/x"),
            None
        );
    }
}
