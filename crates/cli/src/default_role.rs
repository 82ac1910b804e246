//! The default execution role: made on a data directory's first start (and again if it
//! was deleted) in the default account, trusting `lambda.amazonaws.com`, with Hearth's
//! copy of `AWSLambdaBasicExecutionRole` attached. CreateFunction checks the role with
//! `--auth sigv4`, so the README's `aws lambda create-function --role ...:role/hearth` and
//! `hearth deploy` need a role that exists without anyone making it first.
//!
//! The default schedule role, `hearth-scheduler`, is made the same way: trusting
//! `scheduler.amazonaws.com`, allowed to invoke functions, send to queues, publish to
//! topics and put events in its account, so that `hearth schedule` works at once.

use anyhow::Context;
use hearth_engine::{Engine, IamError, NewRole};

/// The role's name: `arn:aws:iam::000000000000:role/hearth`.
pub const NAME: &str = "hearth";

/// Lambda may assume it, as the console's "basic Lambda permissions" roles.
const TRUST_LAMBDA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Hearth's managed policy of logging permissions (all a function needs to run).
const BASIC_EXECUTION: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// IAM's default maximum session duration (one hour).
const MAX_SESSION_SECONDS: u32 = 3600;

/// The default schedule role's name.
pub const SCHEDULER_NAME: &str = "hearth-scheduler";

/// EventBridge Scheduler may assume it.
const TRUST_SCHEDULER: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// What a schedule's templated targets call, in the role's account.
const SCHEDULER_TARGETS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunction","sqs:SendMessage","sns:Publish","events:PutEvents"],"Resource":"*"}]}"#;

/// The ARN of the default execution role.
pub fn arn() -> String {
    format!("arn:aws:iam::{}:role/{NAME}", hearth_model::arn::ACCOUNT)
}

/// Makes a role of the default account unless one of that name exists (which is left as
/// it is: an operator may have changed its policies on purpose); `then` gives it its
/// permissions. Returns whether it made it.
fn make(
    engine: &Engine,
    name: &str,
    trust: &str,
    description: &str,
    then: impl FnOnce(&str) -> Result<(), IamError>,
) -> anyhow::Result<bool> {
    let account = hearth_model::arn::ACCOUNT;
    let made = engine.create_role(NewRole {
        account: account.to_string(),
        name: name.to_string(),
        path: "/".to_string(),
        assume_role_policy: trust.to_string(),
        description: Some(description.to_string()),
        max_session_duration: MAX_SESSION_SECONDS,
        tags: Vec::new(),
        permissions_boundary: None,
    });
    match made {
        Ok(_) => {}
        Err(IamError::RoleExists { .. }) => return Ok(false),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot make the role {name}"))),
    }
    then(account).with_context(|| format!("cannot give the role {name} its permissions"))?;
    Ok(true)
}

/// Makes the default execution role unless it exists. Returns whether it made it.
pub fn ensure(engine: &Engine) -> anyhow::Result<bool> {
    make(
        engine,
        NAME,
        TRUST_LAMBDA,
        "Hearth's default execution role: Lambda may assume it; basic execution (logs)",
        |account| engine.attach_role_policy(account, NAME, BASIC_EXECUTION),
    )
}

/// Makes the default schedule role unless it exists. Returns whether it made it.
pub fn ensure_scheduler(engine: &Engine) -> anyhow::Result<bool> {
    make(
        engine,
        SCHEDULER_NAME,
        TRUST_SCHEDULER,
        "Hearth's default schedule role: EventBridge Scheduler may assume it to call its targets",
        |account| {
            engine.put_role_policy(
                account,
                SCHEDULER_NAME,
                "targets",
                SCHEDULER_TARGETS.to_string(),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn made_once_trusting_lambda_with_basic_execution() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _invoke) = hearth_engine::testing::engine(dir.path());
        assert_eq!(arn(), "arn:aws:iam::000000000000:role/hearth");
        assert!(ensure(&engine).expect("made"));
        let account = hearth_model::arn::ACCOUNT;
        let role = engine.get_role(account, NAME).expect("role");
        assert_eq!(role.attached_policies, vec![BASIC_EXECUTION.to_string()]);
        assert!(engine
            .role_trusts_service(
                account,
                NAME,
                &hearth_iam_policy::RequestContext::new(
                    hearth_iam_policy::RequestPrincipal::service("lambda.amazonaws.com")
                )
            )
            .expect("trust"));
        // An operator's changes stay: a second start finds the role and leaves it.
        engine
            .detach_role_policy(account, NAME, BASIC_EXECUTION)
            .expect("detach");
        assert!(!ensure(&engine).expect("found"));
        let again = engine.get_role(account, NAME).expect("role");
        assert_eq!(again.id, role.id);
        assert!(again.attached_policies.is_empty());
    }

    #[tokio::test]
    async fn the_schedule_role_trusts_the_scheduler_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _invoke) = hearth_engine::testing::engine(dir.path());
        assert!(ensure_scheduler(&engine).expect("made"));
        assert!(!ensure_scheduler(&engine).expect("found"));
        let account = hearth_model::arn::ACCOUNT;
        let trusts = |service: &str| {
            engine
                .role_trusts_service(
                    account,
                    SCHEDULER_NAME,
                    &hearth_iam_policy::RequestContext::new(
                        hearth_iam_policy::RequestPrincipal::service(service),
                    ),
                )
                .expect("trust")
        };
        assert!(trusts("scheduler.amazonaws.com"));
        assert!(!trusts("lambda.amazonaws.com"));
    }
}
