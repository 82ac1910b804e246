//! Hearth's copies of common AWS managed policies (`arn:aws:iam::aws:policy/...`), with
//! the documents, default versions and dates AWS's managed-policy reference publishes,
//! so that roles written for AWS attach them unchanged. Their `PolicyId`s are Hearth's
//! own (stable, derived from the name): AWS does not publish them.

use sha2::{Digest, Sha256};

/// One managed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub name: &'static str,
    /// `/` or `/service-role/`.
    pub path: &'static str,
    pub description: &'static str,
    /// The default version's id (`v1`, `v2`, ...), the only version Hearth has.
    pub version: &'static str,
    pub create_date: &'static str,
    pub update_date: &'static str,
    pub document: &'static str,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }

    /// `ANPA` and 17 characters of base 32 of the name's SHA-256.
    pub fn id(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let digest = Sha256::digest(self.name.as_bytes());
        let tail: String = digest
            .iter()
            .take(17)
            .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
            .collect();
        format!("ANPA{tail}")
    }
}

/// The managed policies Hearth has, in name order (ListPolicies' order).
pub const POLICIES: &[ManagedPolicy] = &[
    ManagedPolicy {
        name: "AWSLambdaBasicExecutionRole",
        path: "/service-role/",
        description: "Provides write permissions to CloudWatch Logs.",
        version: "v1",
        create_date: "2015-04-09T15:03:43Z",
        update_date: "2015-04-09T15:03:43Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AWSLambdaRole",
        path: "/service-role/",
        description: "Default policy for AWS Lambda service role.",
        version: "v1",
        create_date: "2015-02-06T18:41:28Z",
        update_date: "2015-02-06T18:41:28Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["*"]}]}"#,
    },
    ManagedPolicy {
        name: "AWSLambdaSQSQueueExecutionRole",
        path: "/service-role/",
        description: "Provides receive message, delete message, and read attribute access to SQS queues, and write permissions to CloudWatch logs.",
        version: "v1",
        create_date: "2018-06-14T21:50:45Z",
        update_date: "2018-06-14T21:50:45Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AWSXRayDaemonWriteAccess",
        path: "/",
        description: "Allow the AWS X-Ray Daemon to relay raw trace segments data to the service's API and retrieve sampling data (rules, targets, etc.) to be used by the X-Ray SDK.",
        version: "v2",
        create_date: "2018-08-28T23:00:33Z",
        update_date: "2024-02-13T21:58:23Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSXRayDaemonWriteAccess","Effect":"Allow","Action":["xray:PutTraceSegments","xray:PutTelemetryRecords","xray:GetSamplingRules","xray:GetSamplingTargets","xray:GetSamplingStatisticSummaries"],"Resource":["*"]}]}"#,
    },
    ManagedPolicy {
        name: "AdministratorAccess",
        path: "/",
        description: "Provides full access to AWS services and resources.",
        version: "v1",
        create_date: "2015-02-06T18:39:46Z",
        update_date: "2015-02-06T18:39:46Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    ManagedPolicy {
        name: "AmazonSQSReadOnlyAccess",
        path: "/",
        description: "Provides read only access to Amazon SQS via the AWS Management Console.",
        version: "v4",
        create_date: "2015-02-06T18:41:07Z",
        update_date: "2024-05-24T18:16:38Z",
        document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"AmazonSQSReadOnlyAccess","Effect":"Allow","Action":["sqs:GetQueueAttributes","sqs:GetQueueUrl","sqs:ListDeadLetterSourceQueues","sqs:ListQueues","sqs:ListMessageMoveTasks","sqs:ListQueueTags"],"Resource":"*"}]}"#,
    },
];

/// The managed policy with this ARN.
pub fn by_arn(arn: &str) -> Option<&'static ManagedPolicy> {
    POLICIES.iter().find(|p| p.arn() == arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::policy_document::{check, PolicyKind};

    #[test]
    fn every_document_is_a_valid_identity_policy_and_ids_are_distinct() {
        let mut ids = std::collections::HashSet::new();
        for p in POLICIES {
            check(p.document, PolicyKind::Identity).expect(p.name);
            let id = p.id();
            assert_eq!(id.len(), 21);
            assert!(ids.insert(id));
            assert_eq!(by_arn(&p.arn()), Some(p));
        }
        let names: Vec<_> = POLICIES.iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(
            POLICIES[0].arn(),
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        );
    }
}
