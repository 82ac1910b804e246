//! SNS's ARNs: a topic is `arn:aws:sns:REGION:ACCOUNT:NAME`, a subscription the topic's
//! ARN and a UUID after one more colon.

use hearth_model::arn::REGION;

use crate::SnsError;

/// A topic's ARN.
pub fn topic_arn(account: &str, name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{account}:{name}")
}

/// The account and name of a topic ARN, or `InvalidParameter` naming `field`
/// (`TopicArn`, `ResourceArn`) as AWS does.
pub fn parse_topic_arn<'a>(arn: &'a str, field: &str) -> Result<(&'a str, &'a str), SnsError> {
    let bad = || SnsError::invalid(field);
    let rest = arn.strip_prefix("arn:aws:sns:").ok_or_else(bad)?;
    let mut parts = rest.splitn(3, ':');
    let (region, account, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(r), Some(a), Some(n)) => (r, a, n),
        _ => return Err(bad()),
    };
    if region != REGION || !hearth_model::arn::is_account_id(account) || name.contains(':') {
        return Err(bad());
    }
    if crate::topic::check_name(name, name.ends_with(".fifo")).is_err() {
        return Err(bad());
    }
    Ok((account, name))
}

/// The topic ARN of a subscription ARN (`TOPIC_ARN:UUID`), or `InvalidParameter`.
pub fn subscription_topic(arn: &str) -> Result<&str, SnsError> {
    let bad = || SnsError::invalid("SubscriptionArn");
    let (topic, id) = arn.rsplit_once(':').ok_or_else(bad)?;
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(bad());
    }
    parse_topic_arn(topic, "SubscriptionArn")?;
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_parse_and_bad_ones_name_their_field() {
        let arn = topic_arn("123456789012", "t1");
        assert_eq!(arn, "arn:aws:sns:us-east-1:123456789012:t1");
        assert_eq!(
            parse_topic_arn(&arn, "TopicArn").expect("arn"),
            ("123456789012", "t1")
        );
        for bad in [
            "t1",
            "arn:aws:sns:us-east-1:12:t1",
            "arn:aws:sns:us-east-1:123456789012:",
        ] {
            let e = parse_topic_arn(bad, "TopicArn").expect_err(bad);
            assert_eq!(e.to_string(), "Invalid parameter: TopicArn");
        }
        let sub = format!("{arn}:{}", uuid::Uuid::new_v4());
        assert_eq!(subscription_topic(&sub).expect("sub"), arn);
        assert!(subscription_topic(&arn).is_err());
    }
}
