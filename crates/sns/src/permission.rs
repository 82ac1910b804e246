//! AddPermission and RemovePermission: statements of a topic's `Policy` (AWS's default
//! policy until the topic has its own), written as AWS writes them — `Principal.AWS` the
//! accounts' roots and `Action` the `SNS:` actions, each a string when there is one and a
//! list when there are several — and found again by their `Sid`, the label.

use serde_json::{json, Value};

use crate::service::encode;
use crate::{Sns, SnsError};

/// The actions a topic policy statement may name: the topic's own operations (AWS
/// answers any other "Policy statement action out of service scope!").
const TOPIC_ACTIONS: &[&str] = &[
    "GetTopicAttributes",
    "SetTopicAttributes",
    "AddPermission",
    "RemovePermission",
    "DeleteTopic",
    "Subscribe",
    "ListSubscriptionsByTopic",
    "Publish",
    "Receive",
];

/// Refuses a topic policy with an action that names none of the topic's own operations
/// (`sns:CreateTopic`, `sqs:SendMessage`), as SNS does; wildcards that cover one of them
/// (`sns:*`, `SNS:Get*`, `*`) pass.
pub(crate) fn check_scope(policy: &hearth_iam_policy::Policy) -> Result<(), SnsError> {
    let in_scope = |p: &hearth_iam_policy::ActionPattern| {
        TOPIC_ACTIONS.iter().any(|a| p.matches(&format!("sns:{a}")))
    };
    let all = policy
        .statements
        .iter()
        .filter(|s| !s.action.negated)
        .flat_map(|s| &s.action.items);
    for pattern in all {
        if !in_scope(pattern) {
            return Err(SnsError::invalid(
                "Policy statement action out of service scope!",
            ));
        }
    }
    Ok(())
}

/// One value, or a list of several, as AWS writes a statement's fields.
fn one_or_list(items: Vec<String>) -> Value {
    match <[String; 1]>::try_from(items) {
        Ok([one]) => Value::String(one),
        Err(many) => json!(many),
    }
}

fn statements(policy: &mut Value) -> Result<&mut Vec<Value>, SnsError> {
    policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| SnsError::invalid("Policy: the topic's policy has no statements"))
}

fn has_label(statements: &[Value], label: &str) -> bool {
    statements
        .iter()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(label))
}

impl Sns {
    /// The topic's policy as a document to edit: its own, else AWS's default.
    fn policy_of(&self, arn: &str) -> Result<(crate::topic::Topic, Value), SnsError> {
        let t = self.topic(arn, "TopicArn")?;
        let text = t
            .attributes
            .get("Policy")
            .cloned()
            .unwrap_or_else(|| t.default_policy());
        let policy = serde_json::from_str(&text)
            .map_err(|e| SnsError::Internal(format!("a topic's stored policy: {e}")))?;
        Ok((t, policy))
    }

    fn put_policy(&self, mut t: crate::topic::Topic, policy: &Value) -> Result<(), SnsError> {
        t.attributes.insert("Policy".into(), policy.to_string());
        if !self.inner.store.sns().put_sns_topic(&t.arn, &encode(&t))? {
            return Err(SnsError::no_topic());
        }
        Ok(())
    }

    /// AddPermission: a statement `label` letting `accounts` do `actions` on the topic.
    pub fn add_permission(
        &self,
        arn: &str,
        label: &str,
        accounts: &[&str],
        actions: &[&str],
    ) -> Result<(), SnsError> {
        let (t, mut policy) = self.policy_of(arn)?;
        let list = statements(&mut policy)?;
        if has_label(list, label) {
            return Err(SnsError::invalid("Statement already exists"));
        }
        if actions.is_empty() || accounts.is_empty() {
            return Err(SnsError::invalid(if actions.is_empty() {
                "ActionName"
            } else {
                "AWSAccountId"
            }));
        }
        if actions.iter().any(|a| !TOPIC_ACTIONS.contains(a)) {
            return Err(SnsError::invalid(
                "Policy statement action out of service scope!",
            ));
        }
        let principals = accounts
            .iter()
            .map(|a| format!("arn:aws:iam::{a}:root"))
            .collect();
        let actions = actions.iter().map(|a| format!("SNS:{a}")).collect();
        list.push(json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": one_or_list(principals)},
            "Action": one_or_list(actions),
            "Resource": arn,
        }));
        self.put_policy(t, &policy)
    }

    /// RemovePermission: the statement `label` out of the topic's policy (a label it
    /// does not have is no error, as AWS answers).
    pub fn remove_permission(&self, arn: &str, label: &str) -> Result<(), SnsError> {
        let (t, mut policy) = self.policy_of(arn)?;
        let list = statements(&mut policy)?;
        if !has_label(list, label) {
            return Ok(());
        }
        list.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
        self.put_policy(t, &policy)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::{NoQueues, SnsConfig};

    fn service() -> (tempfile::TempDir, Sns) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hearth_store::Store::open(dir.path()).expect("store");
        let config = SnsConfig {
            endpoint: "http://h:1/".into(),
            sink: Arc::new(NoQueues),
        };
        (dir, Sns::new(store, config))
    }

    fn policy(sns: &Sns, arn: &str) -> Value {
        let text = sns.topic_policy(arn).expect("read").expect("topic");
        serde_json::from_str(&text).expect("json")
    }

    #[test]
    fn one_value_is_a_string_and_several_a_list() {
        assert_eq!(one_or_list(vec!["a".into()]), json!("a"));
        assert_eq!(one_or_list(vec!["a".into(), "b".into()]), json!(["a", "b"]));
    }

    #[test]
    fn permissions_are_statements_of_the_topics_policy() {
        let (_dir, sns) = service();
        let arn = sns
            .create_topic("111111111111", "t", BTreeMap::new(), vec![])
            .expect("topic");
        sns.add_permission(&arn, "one", &["222222222222"], &["Publish"])
            .expect("add");
        sns.add_permission(
            &arn,
            "two",
            &["222222222222", "333333333333"],
            &["Publish", "Subscribe"],
        )
        .expect("add");
        let p = policy(&sns, &arn);
        let st = p["Statement"].as_array().expect("statements");
        assert_eq!(st[0]["Sid"], "__default_statement_ID", "the default kept");
        assert_eq!(
            st[1],
            json!({"Sid": "one", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                   "Action": "SNS:Publish", "Resource": arn})
        );
        assert_eq!(
            st[2]["Principal"]["AWS"],
            json!([
                "arn:aws:iam::222222222222:root",
                "arn:aws:iam::333333333333:root"
            ])
        );
        assert_eq!(st[2]["Action"], json!(["SNS:Publish", "SNS:Subscribe"]));

        let e = sns
            .add_permission(&arn, "one", &["222222222222"], &["Publish"])
            .expect_err("same label");
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (
                "InvalidParameter",
                "Invalid parameter: Statement already exists"
            )
        );
        let e = sns
            .add_permission(&arn, "three", &["222222222222"], &["CreateTopic"])
            .expect_err("not a topic action");
        assert_eq!(
            e.to_string(),
            "Invalid parameter: Policy statement action out of service scope!"
        );
        let e = sns
            .add_permission(&format!("{arn}x"), "x", &["222222222222"], &["Publish"])
            .expect_err("no topic");
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("NotFound", "Topic does not exist")
        );

        sns.remove_permission(&arn, "one").expect("remove");
        sns.remove_permission(&arn, "never-added")
            .expect("no such label: no error");
        let labels: Vec<Value> = policy(&sns, &arn)["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .map(|s| s["Sid"].clone())
            .collect();
        assert_eq!(labels, [json!("__default_statement_ID"), json!("two")]);
        let e = sns
            .remove_permission(&format!("{arn}x"), "two")
            .expect_err("no topic");
        assert_eq!(e.code(), "NotFound");
    }
}
