//! Any bytes as a policy document of each kind: the parser refuses or accepts, never
//! panics, and what it accepts can be evaluated.
#![no_main]

use hearth_iam_policy::{
    evaluate, parse, PolicyKind, RequestContext, RequestPrincipal, ResourcePolicy,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = RequestContext::new(RequestPrincipal::user("111122223333", "fuzz"))
        .with("aws:SourceIp", "203.0.113.7")
        .with("aws:SourceArn", "arn:aws:s3:::bucket")
        .at_time(1_700_000_000);
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
    ] {
        if let Ok(policy) = parse(text, kind) {
            let resource = "arn:aws:lambda:us-east-1:111122223333:function:f";
            let (identity, resource_policy) = match kind {
                PolicyKind::Identity => (vec![policy], None),
                _ => (Vec::new(), Some(policy)),
            };
            let _ = evaluate(
                &ctx,
                "lambda:InvokeFunction",
                resource,
                &identity,
                ResourcePolicy {
                    account: "111122223333",
                    policy: resource_policy.as_ref(),
                },
            );
        }
    }
});
