//! Resource-based policies (AddPermission, RemovePermission, GetPolicy): the request,
//! its checks, and the statement JSON exactly as Lambda writes it. One policy per
//! function, version or alias; stored and returned (enforcement needs request signing).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

const STATEMENT_ID: &str = "([a-zA-Z0-9-_]+)";
const ACTION: &str = "(lambda:[*]|lambda:[a-zA-Z]+|[*])";
const SOURCE_ARN: &str = r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)";
const SOURCE_ACCOUNT: &str = r"\d{12}";
const EVENT_SOURCE_TOKEN: &str = r"[a-zA-Z0-9._\-]+";
const PRINCIPAL_ORG_ID: &str = "o-[a-z0-9]{10,32}";
/// AddPermission's, RemovePermission's and GetPolicy's `Qualifier`.
pub const QUALIFIER_PATTERN: &str = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+";
const INVALID_PRINCIPAL: &str =
    "The provided principal was invalid. Please check the principal and try again.";

fn full(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("botocore's patterns are valid regexes")
}

static RE_STATEMENT_ID: LazyLock<Regex> = LazyLock::new(|| full(STATEMENT_ID));
static RE_ACTION: LazyLock<Regex> = LazyLock::new(|| full(ACTION));
static RE_SOURCE_ARN: LazyLock<Regex> = LazyLock::new(|| full(SOURCE_ARN));
static RE_SOURCE_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| full(SOURCE_ACCOUNT));
static RE_TOKEN: LazyLock<Regex> = LazyLock::new(|| full(EVENT_SOURCE_TOKEN));
static RE_ORG: LazyLock<Regex> = LazyLock::new(|| full(PRINCIPAL_ORG_ID));
static RE_QUALIFIER: LazyLock<Regex> = LazyLock::new(|| full(QUALIFIER_PATTERN));
static RE_IAM_ARN: LazyLock<Regex> =
    LazyLock::new(|| full(r"arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:\S+"));

/// Whether `q` is a qualifier the policy operations accept.
pub fn valid_qualifier(q: &str) -> bool {
    !q.is_empty() && q.len() <= 128 && RE_QUALIFIER.is_match(q)
}

/// The qualifier's validation error, quoting the model's pattern.
pub fn bad_qualifier(q: &str) -> AwsError {
    AwsError::constraint(
        q,
        "qualifier",
        &format!("Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}"),
    )
}

/// AddPermission's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddPermissionRequest {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub event_source_token: Option<String>,
    pub revision_id: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub invoked_via_function_url: Option<bool>,
}

/// Who a statement allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"*"`.
    Anyone(String),
    Service {
        #[serde(rename = "Service")]
        service: String,
    },
    Aws {
        #[serde(rename = "AWS")]
        aws: String,
    },
}

/// One statement, with its members in Lambda's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(
        rename = "StringEquals",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub string_equals: Option<StringEquals>,
    #[serde(rename = "Bool", default, skip_serializing_if = "Option::is_none")]
    pub bool: Option<BoolCondition>,
    #[serde(rename = "ArnLike", default, skip_serializing_if = "Option::is_none")]
    pub arn_like: Option<ArnLike>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringEquals {
    #[serde(
        rename = "AWS:SourceAccount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_account: Option<String>,
    #[serde(
        rename = "lambda:FunctionUrlAuthType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub function_url_auth_type: Option<String>,
    #[serde(
        rename = "aws:PrincipalOrgID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub principal_org_id: Option<String>,
    #[serde(
        rename = "lambda:EventSourceToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_source_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoolCondition {
    #[serde(rename = "lambda:InvokedViaFunctionUrl")]
    pub invoked_via_function_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArnLike {
    #[serde(rename = "AWS:SourceArn")]
    pub source_arn: String,
}

/// A checked AddPermission: the statement (without its resource, which the engine
/// knows) and the revision the caller expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPermission {
    pub sid: String,
    pub principal: Principal,
    pub action: String,
    pub condition: Option<Condition>,
    pub revision_id: Option<String>,
}

impl NewPermission {
    /// The statement on `resource` (the function's, version's or alias's ARN).
    pub fn statement(&self, resource: &str) -> Statement {
        Statement {
            sid: self.sid.clone(),
            effect: "Allow".into(),
            principal: self.principal.clone(),
            action: self.action.clone(),
            resource: resource.into(),
            condition: self.condition.clone(),
        }
    }
}

fn pattern(value: &str, field: &str, re: &Regex, pattern: &str) -> Result<(), AwsError> {
    if re.is_match(value) {
        Ok(())
    } else {
        Err(AwsError::constraint(
            value,
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ))
    }
}

impl AddPermissionRequest {
    /// Checks the request as AWS's validator and then Lambda do.
    pub fn validated(self) -> Result<NewPermission, AwsError> {
        let sid = self
            .statement_id
            .ok_or_else(|| AwsError::null_member("statementId"))?;
        let action = self.action.ok_or_else(|| AwsError::null_member("action"))?;
        let principal = self
            .principal
            .ok_or_else(|| AwsError::null_member("principal"))?;
        if sid.is_empty() || sid.len() > 100 {
            return Err(AwsError::constraint(
                &sid,
                "statementId",
                "Member must have length less than or equal to 100",
            ));
        }
        pattern(&sid, "statementId", &RE_STATEMENT_ID, STATEMENT_ID)?;
        pattern(&action, "action", &RE_ACTION, ACTION)?;
        if principal.chars().any(char::is_whitespace) || principal.is_empty() {
            return Err(AwsError::constraint(
                &principal,
                "principal",
                r"Member must satisfy regular expression pattern: [^\s]+",
            ));
        }
        if let Some(a) = &self.source_arn {
            pattern(a, "sourceArn", &RE_SOURCE_ARN, SOURCE_ARN)?;
        }
        if let Some(a) = &self.source_account {
            pattern(a, "sourceAccount", &RE_SOURCE_ACCOUNT, SOURCE_ACCOUNT)?;
        }
        if let Some(t) = &self.event_source_token {
            pattern(t, "eventSourceToken", &RE_TOKEN, EVENT_SOURCE_TOKEN)?;
        }
        if let Some(o) = &self.principal_org_id {
            pattern(o, "principalOrgID", &RE_ORG, PRINCIPAL_ORG_ID)?;
        }
        if let Some(t) = &self.function_url_auth_type {
            if t != "NONE" && t != "AWS_IAM" {
                return Err(AwsError::constraint(
                    t,
                    "functionUrlAuthType",
                    "Member must satisfy enum value set: [NONE, AWS_IAM]",
                ));
            }
            if action != "lambda:InvokeFunctionUrl" {
                return Err(AwsError::invalid(
                    "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action",
                ));
            }
        }
        let principal = parse_principal(&principal)?;
        let string_equals = StringEquals {
            source_account: self.source_account,
            function_url_auth_type: self.function_url_auth_type,
            principal_org_id: self.principal_org_id,
            event_source_token: self.event_source_token,
        };
        let condition = Condition {
            string_equals: (string_equals != StringEquals::default()).then_some(string_equals),
            bool: self
                .invoked_via_function_url
                .filter(|v| *v)
                .map(|_| BoolCondition {
                    invoked_via_function_url: "true".into(),
                }),
            arn_like: self.source_arn.map(|source_arn| ArnLike { source_arn }),
        };
        Ok(NewPermission {
            sid,
            principal,
            action,
            condition: (condition != Condition::default()).then_some(condition),
            revision_id: self.revision_id,
        })
    }
}

/// `*`, an account id, an IAM ARN or a service principal, as Lambda writes each.
fn parse_principal(p: &str) -> Result<Principal, AwsError> {
    if p == "*" {
        return Ok(Principal::Anyone("*".into()));
    }
    if crate::arn::is_account_id(p) {
        return Ok(Principal::Aws {
            aws: format!("arn:aws:iam::{p}:root"),
        });
    }
    if RE_IAM_ARN.is_match(p) {
        return Ok(Principal::Aws { aws: p.into() });
    }
    let service = p
        .strip_suffix(".amazonaws.com")
        .or_else(|| p.strip_suffix(".amazon.com"));
    match service {
        Some(name)
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            Ok(Principal::Service { service: p.into() })
        }
        _ => Err(AwsError::invalid(INVALID_PRINCIPAL)),
    }
}

/// A stored policy: its statements in the order they were added, and its revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub revision_id: String,
    pub statements: Vec<Statement>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Id")]
    id: &'static str,
    #[serde(rename = "Statement")]
    statement: &'a [Statement],
}

impl Policy {
    /// The policy document as GetPolicy returns it (a JSON string).
    pub fn document(&self) -> String {
        serde_json::to_string(&Document {
            version: "2012-10-17",
            id: "default",
            statement: &self.statements,
        })
        .unwrap_or_default()
    }
}

/// A statement as AddPermission returns it (a JSON string).
pub fn statement_json(s: &Statement) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionResponse {
    pub statement: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    pub policy: String,
    pub revision_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

    fn request(principal: &str) -> AddPermissionRequest {
        AddPermissionRequest {
            statement_id: Some("s".into()),
            action: Some("lambda:InvokeFunction".into()),
            principal: Some(principal.into()),
            ..Default::default()
        }
    }

    fn json(p: &NewPermission) -> serde_json::Value {
        serde_json::from_str(&statement_json(&p.statement(F))).expect("json")
    }

    #[test]
    fn statements_are_written_as_lambda_writes_them() {
        let mut r = request("s3.amazonaws.com");
        r.source_arn = Some("arn:aws:s3:::bucket".into());
        let p = r.validated().expect("ok");
        assert_eq!(
            statement_json(&p.statement(F)),
            format!(
                r#"{{"Sid":"s","Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"lambda:InvokeFunction","Resource":"{F}","Condition":{{"ArnLike":{{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}}}}"#
            )
        );
        let p = request("111111111111").validated().expect("account");
        assert_eq!(
            json(&p)["Principal"],
            serde_json::json!({"AWS": "arn:aws:iam::111111111111:root"})
        );
        assert!(json(&p).get("Condition").is_none());
        let mut r = request("*");
        r.action = Some("lambda:InvokeFunctionUrl".into());
        r.source_arn = Some("arn:aws:s3:::b".into());
        r.source_account = Some("111111111111".into());
        r.principal_org_id = Some("o-1234567890".into());
        r.function_url_auth_type = Some("NONE".into());
        let p = r.validated().expect("url");
        let s = statement_json(&p.statement(F));
        assert!(s.contains(r#""Principal":"*""#), "{s}");
        assert!(s.contains(r#""Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111","lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}"#), "{s}");
    }

    #[test]
    fn bad_requests_get_lambdas_errors() {
        let mut r = request("s3.amazonaws.com");
        r.statement_id = Some("example.com".into());
        assert_eq!(r.validated().expect_err("sid").message, "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
        assert_eq!(
            request("invalid.nonaws.com")
                .validated()
                .expect_err("principal")
                .message,
            INVALID_PRINCIPAL
        );
        assert!(valid_qualifier("valid-with-$-but-doesnotexist"));
        assert!(!valid_qualifier("invalid-qualifier-with-?-char"));
    }

    #[test]
    fn the_document_wraps_the_statements() {
        let p = Policy {
            revision_id: "r".into(),
            statements: vec![request("*").validated().expect("ok").statement(F)],
        };
        assert_eq!(
            p.document(),
            format!(
                r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{F}"}}]}}"#
            )
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any AddPermission body is accepted or refused with a client error, and an
        /// accepted one makes a statement that reads back as itself.
        #[test]
        fn requests_never_panic(
            sid in "\\PC{0,110}",
            action in "\\PC{0,30}",
            principal in "\\PC{0,60}",
            source_arn in proptest::option::of("\\PC{0,60}"),
            account in proptest::option::of("[0-9]{10,13}"),
        ) {
            let r = AddPermissionRequest {
                statement_id: Some(sid),
                action: Some(action),
                principal: Some(principal),
                source_arn,
                source_account: account,
                ..Default::default()
            };
            match r.validated() {
                Ok(p) => {
                    let s = p.statement("arn:aws:lambda:us-east-1:000000000000:function:f");
                    let back: Statement = serde_json::from_str(&statement_json(&s)).expect("reads back");
                    prop_assert_eq!(back, s);
                }
                Err(e) => prop_assert!(e.code.status() < 500),
            }
        }
    }
}
