//! The layers' control plane over a real store: numbering, lists and their filters,
//! policies, and what a function's `Layers` may name.

use hearth_model::arn::ACCOUNT;
use hearth_model::layer::LayerStatement;
use hearth_model::FunctionRef;

use super::*;
use crate::testing::{create, engine, fref, new_function, settled};
use crate::{ConfigChange, NewFunction, NewVersion};

const OTHER: &str = "222222222222";

fn zip(tag: &str) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    zip.start_file("python/lib.py", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    zip.write_all(tag.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish");
    buf.into_inner()
}

fn caller(account: &str) -> LayerCaller {
    LayerCaller {
        account: account.into(),
        arn: format!("arn:aws:iam::{account}:root"),
    }
}

fn new_layer(account: &str, name: &str, runtimes: &[&str], archs: &[&str]) -> NewLayerVersion {
    NewLayerVersion {
        account: account.into(),
        name: name.into(),
        description: format!("{name}!"),
        license_info: None,
        compatible_runtimes: runtimes.iter().map(|s| s.to_string()).collect(),
        compatible_architectures: archs.iter().map(|s| s.to_string()).collect(),
        zip: zip(name),
    }
}

fn at(account: &str, name: &str, version: u64) -> LayerVersionRef {
    LayerVersionRef {
        account: account.into(),
        name: name.into(),
        version,
    }
}

fn versions(list: &[LayerVersion]) -> Vec<(String, u64)> {
    list.iter().map(|l| (l.name.clone(), l.version)).collect()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

#[tokio::test]
async fn publishing_numbers_lists_filter_and_deleting_never_reuses_a_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, _) = engine(dir.path());
    let publish = |l| engine.publish_layer_version(l);
    let v1 = publish(new_layer(ACCOUNT, "a", &["python3.12"], &["x86_64"]))
        .await
        .expect("publish");
    assert_eq!(v1.version, 1);
    assert_eq!(v1.description, "a!");
    assert_eq!(v1.code.size, zip("a").len() as u64);
    publish(new_layer(ACCOUNT, "a", &["nodejs20.x"], &["arm64"]))
        .await
        .expect("publish");
    publish(new_layer(ACCOUNT, "b", &["python3.12"], &[]))
        .await
        .expect("publish");
    let latest = engine
        .list_layers(ACCOUNT.into(), None, None)
        .await
        .expect("list");
    assert_eq!(versions(&latest), pairs(&[("a", 2), ("b", 1)]));
    let python = engine
        .list_layers(ACCOUNT.into(), Some("python3.12".into()), None)
        .await
        .expect("list");
    assert_eq!(versions(&python), pairs(&[("a", 1), ("b", 1)]));
    let x86 = engine
        .list_layers(
            ACCOUNT.into(),
            Some("python3.12".into()),
            Some("x86_64".into()),
        )
        .await
        .expect("list");
    assert_eq!(versions(&x86), pairs(&[("a", 1)]));
    let of_a = engine
        .list_layer_versions(caller(ACCOUNT), ACCOUNT.into(), "a".into(), None, None)
        .await
        .expect("list");
    assert_eq!(versions(&of_a), pairs(&[("a", 2), ("a", 1)]));
    let got = engine
        .layer_version(caller(ACCOUNT), at(ACCOUNT, "a", 1))
        .await
        .expect("get");
    assert_eq!(got, v1);

    for v in [1, 2, 2] {
        engine
            .delete_layer_version(caller(ACCOUNT), at(ACCOUNT, "a", v))
            .await
            .expect("delete is idempotent");
    }
    let gone = engine
        .layer_version(caller(ACCOUNT), at(ACCOUNT, "a", 1))
        .await
        .expect_err("deleted");
    assert!(
        matches!(gone, EngineError::NotFound(NotFound::LayerVersion { ref arn })
            if arn == "arn:aws:lambda:us-east-1:000000000000:layer:a:1"),
        "{gone:?}"
    );
    let v3 = publish(new_layer(ACCOUNT, "a", &[], &[]))
        .await
        .expect("publish");
    assert_eq!(v3.version, 3);
}

#[tokio::test]
async fn policies_keep_statements_revisions_and_let_other_accounts_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, _) = engine(dir.path());
    let v = engine
        .publish_layer_version(new_layer(ACCOUNT, "shared", &[], &[]))
        .await
        .expect("publish");
    let r = || at(ACCOUNT, "shared", 1);
    let no_policy = engine
        .layer_version_policy(caller(ACCOUNT), r())
        .await
        .expect_err("none yet");
    assert!(matches!(
        no_policy,
        EngineError::NotFound(NotFound::NoPolicy)
    ));
    let denied = engine
        .layer_version(caller(OTHER), r())
        .await
        .expect_err("not shared yet");
    assert_eq!(
        denied.to_string(),
        "User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:GetLayerVersion on resource: arn:aws:lambda:us-east-1:000000000000:layer:shared:1 because no resource-based policy allows the lambda:GetLayerVersion action"
    );
    let statement = |sid: &str, principal: &str| NewLayerStatement {
        statement: LayerStatement {
            sid: sid.into(),
            action: "lambda:GetLayerVersion".into(),
            principal: principal.into(),
            organization_id: None,
        },
        revision_id: None,
    };
    let stale = engine
        .add_layer_version_permission(
            caller(ACCOUNT),
            r(),
            NewLayerStatement {
                revision_id: Some("not-it".into()),
                ..statement("s1", OTHER)
            },
        )
        .await
        .expect_err("stale revision");
    assert!(matches!(
        stale,
        EngineError::Conflict(Conflict::PolicyRevisionMismatch { alias: false })
    ));
    let (text, revision) = engine
        .add_layer_version_permission(
            caller(ACCOUNT),
            r(),
            NewLayerStatement {
                revision_id: Some(v.revision_id.clone()),
                ..statement("s1", OTHER)
            },
        )
        .await
        .expect("add");
    assert_ne!(revision, v.revision_id);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).expect("json"),
        serde_json::json!({
            "Sid": "s1", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": "lambda:GetLayerVersion",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:layer:shared:1",
        })
    );
    let again = engine
        .add_layer_version_permission(caller(ACCOUNT), r(), statement("s1", "*"))
        .await
        .expect_err("taken");
    assert!(
        matches!(again, EngineError::Conflict(Conflict::StatementExists { ref sid }) if sid == "s1")
    );
    let theirs = engine
        .add_layer_version_permission(caller(OTHER), r(), statement("s2", "*"))
        .await
        .expect_err("not the owner");
    assert!(matches!(theirs, EngineError::AccessDenied(_)));
    assert_eq!(
        engine
            .layer_version(caller(OTHER), r())
            .await
            .expect("shared")
            .version,
        1
    );
    let (policy, policy_revision) = engine
        .layer_version_policy(caller(ACCOUNT), r())
        .await
        .expect("policy");
    assert_eq!(policy_revision, revision);
    let doc: serde_json::Value = serde_json::from_str(&policy).expect("json");
    assert_eq!(doc["Statement"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["Id"], "default");
    let missing = engine
        .remove_layer_version_permission(caller(ACCOUNT), r(), "nope".into(), None)
        .await
        .expect_err("no such statement");
    assert!(matches!(
        missing,
        EngineError::NotFound(NotFound::Statement { .. })
    ));
    engine
        .remove_layer_version_permission(caller(ACCOUNT), r(), "s1".into(), Some(revision))
        .await
        .expect("remove");
    assert!(engine.layer_version(caller(OTHER), r()).await.is_err());
}

#[tokio::test]
async fn a_functions_layers_are_checked_resolved_and_kept_by_its_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, _) = engine(dir.path());
    let mine = engine
        .publish_layer_version(new_layer(ACCOUNT, "mine", &[], &[]))
        .await
        .expect("publish");
    engine
        .publish_layer_version(new_layer(ACCOUNT, "mine", &[], &[]))
        .await
        .expect("publish");
    let theirs = engine
        .publish_layer_version(new_layer(OTHER, "theirs", &[], &[]))
        .await
        .expect("publish");
    let resolve = |arns: &[String]| engine.resolve_layers(caller(ACCOUNT), arns.to_vec());
    let arn = |a: &str, n: &str, v: u64| layer_version_arn(a, n, v);

    let six: Vec<String> = (0..6).map(|i| arn(ACCOUNT, &format!("l{i}"), 1)).collect();
    let err = resolve(&six).await.expect_err("too many");
    assert_eq!(err.to_string(), "Cannot reference more than 5 layers.");
    let err = resolve(&[arn(ACCOUNT, "mine", 1), arn(ACCOUNT, "mine", 2)])
        .await
        .expect_err("two of one layer");
    assert_eq!(
        err.to_string(),
        "Two different versions of the same layer are not allowed."
    );
    let err = resolve(&[arn(ACCOUNT, "mine", 9)])
        .await
        .expect_err("no such version");
    assert_eq!(
        err.to_string(),
        "Layer version arn:aws:lambda:us-east-1:000000000000:layer:mine:9 does not exist."
    );
    let err = resolve(&[theirs.version_arn()])
        .await
        .expect_err("not shared");
    assert!(matches!(err, EngineError::AccessDenied(_)), "{err:?}");
    engine
        .add_layer_version_permission(
            caller(OTHER),
            at(OTHER, "theirs", 1),
            NewLayerStatement {
                statement: LayerStatement {
                    sid: "all".into(),
                    action: "lambda:GetLayerVersion".into(),
                    principal: "*".into(),
                    organization_id: None,
                },
                revision_id: None,
            },
        )
        .await
        .expect("share");
    let refs = resolve(&[theirs.version_arn(), mine.version_arn()])
        .await
        .expect("resolved");
    assert_eq!(
        refs,
        vec![
            LayerRef {
                arn: theirs.version_arn(),
                code: theirs.code.clone()
            },
            LayerRef {
                arn: mine.version_arn(),
                code: mine.code.clone()
            },
        ]
    );

    create(
        &engine,
        NewFunction {
            layers: refs.clone(),
            ..new_function("f")
        },
    )
    .await;
    assert_eq!(engine.get_function(&fref("f")).expect("f").layers, refs);
    let v1 = engine
        .publish_version(&fref("f"), NewVersion::default())
        .expect("publish");
    assert_eq!(v1.layers, refs);
    let cleared = engine
        .update_configuration(
            &fref("f"),
            ConfigChange {
                layers: Some(Vec::new()),
                ..Default::default()
            },
        )
        .await
        .expect("clear");
    assert!(cleared.layers.is_empty());
    settled(&engine, "f").await;
    let version = FunctionRef {
        name: "f".into(),
        qualifier: Some("1".into()),
    };
    assert_eq!(engine.get_function(&version).expect("v1").layers, refs);
    // Other layers are a change: the next publish is a new version, without them.
    let v2 = engine
        .publish_version(&fref("f"), NewVersion::default())
        .expect("publish");
    assert_eq!((v2.version.as_str(), v2.layers.len()), ("2", 0));

    // Too big together: a layer the size limit allows, with the function's code.
    let mut huge = refs[0].clone();
    huge.code.unzipped_size = UNZIPPED_MAX_BYTES;
    let err = engine
        .update_configuration(
            &fref("f"),
            ConfigChange {
                layers: Some(vec![huge]),
                ..Default::default()
            },
        )
        .await
        .expect_err("too big");
    let code = engine
        .get_function(&fref("f"))
        .expect("f")
        .code
        .unzipped_size;
    assert_eq!(
        err.to_string(),
        format!(
            "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is {} bytes.",
            UNZIPPED_MAX_BYTES + code
        )
    );
}
