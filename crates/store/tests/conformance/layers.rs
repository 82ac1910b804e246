//! Lambda layers (`LayerStore`): numbering per (account, name) that never goes back,
//! lists by name newest first, atomic edits of a version's policy, deletion.

use hearth_model::function::CodeRef;
use hearth_model::layer::{LayerStatement, LayerVersion};
use hearth_store::Edited;

use crate::backend::Fixture;

each_backend!(
    numbers_are_per_layer_and_never_reused,
    lists_are_by_name_newest_first_and_per_account,
    a_policy_edit_is_atomic_and_kept_across_a_restart,
);

pub fn layer(account: &str, name: &str, code: CodeRef) -> LayerVersion {
    LayerVersion {
        account: account.into(),
        name: name.into(),
        version: 0,
        description: format!("{name} layer"),
        license_info: Some("MIT".into()),
        compatible_runtimes: vec!["python3.12".into()],
        compatible_architectures: vec!["x86_64".into()],
        created_date: "2026-01-01T00:00:00.000+0000".into(),
        code,
        policy: Vec::new(),
        revision_id: "r0".into(),
    }
}

fn code(tag: &str) -> CodeRef {
    CodeRef {
        sha256_hex: format!("{tag:0>64}"),
        sha256_b64: tag.into(),
        size: 10,
        unzipped_size: 20,
    }
}

fn numbers_are_per_layer_and_never_reused(s: Fixture) {
    let a = "111111111111";
    let publish = |name: &str| {
        s.layers()
            .publish_layer_version(&layer(a, name, code("1")))
            .expect("publish")
            .version
    };
    assert_eq!(publish("x"), 1);
    assert_eq!(publish("x"), 2);
    assert_eq!(publish("y"), 1);
    assert_eq!(
        s.layers()
            .publish_layer_version(&layer("222222222222", "x", code("1")))
            .expect("publish")
            .version,
        1
    );
    assert!(s.layers().delete_layer_version(a, "x", 2).expect("delete"));
    assert!(!s.layers().delete_layer_version(a, "x", 2).expect("again"));
    assert!(s.layers().delete_layer_version(a, "x", 1).expect("delete"));
    assert!(s
        .layers()
        .get_layer_version(a, "x", 1)
        .expect("get")
        .is_none());
    // Every version gone: the next is still 3, and after a restart too.
    assert_eq!(publish("x"), 3);
    let s = s.reopen();
    let v = s
        .layers()
        .publish_layer_version(&layer(a, "x", code("1")))
        .expect("publish");
    assert_eq!(v.version, 4);
    assert_eq!(
        s.layers().get_layer_version(a, "x", 4).expect("get"),
        Some(v)
    );
}

fn lists_are_by_name_newest_first_and_per_account(s: Fixture) {
    let a = "111111111111";
    for name in ["b", "a", "b", "a", "a"] {
        s.layers()
            .publish_layer_version(&layer(a, name, code(name)))
            .expect("publish");
    }
    s.layers()
        .publish_layer_version(&layer("222222222222", "a", code("z")))
        .expect("another account's");
    let listed: Vec<(String, u64)> = s
        .layers()
        .list_layer_versions(a, None)
        .expect("list")
        .into_iter()
        .map(|l| (l.name, l.version))
        .collect();
    let expect = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    };
    assert_eq!(
        listed,
        expect(&[("a", 3), ("a", 2), ("a", 1), ("b", 2), ("b", 1)])
    );
    let of_b: Vec<u64> = s
        .layers()
        .list_layer_versions(a, Some("b"))
        .expect("list")
        .iter()
        .map(|l| l.version)
        .collect();
    assert_eq!(of_b, [2, 1]);
    assert!(s
        .layers()
        .list_layer_versions("333333333333", None)
        .expect("list")
        .is_empty());
}

fn a_policy_edit_is_atomic_and_kept_across_a_restart(s: Fixture) {
    let a = "111111111111";
    s.layers()
        .publish_layer_version(&layer(a, "x", code("1")))
        .expect("publish");
    let statement = LayerStatement {
        sid: "s1".into(),
        action: "lambda:GetLayerVersion".into(),
        principal: "*".into(),
        organization_id: None,
    };
    let added = s
        .layers()
        .update_layer_version(a, "x", 1, |l| {
            l.policy.push(statement.clone());
            l.revision_id = "r1".into();
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("edited");
    assert_eq!(added.policy, std::slice::from_ref(&statement));
    let refused = s
        .layers()
        .update_layer_version(a, "x", 1, |l| {
            l.policy.clear();
            Err("no")
        })
        .expect("db")
        .expect("exists");
    assert_eq!(refused, Err("no"));
    assert!(s
        .layers()
        .update_layer_version(a, "x", 9, |_| Ok::<_, ()>(()))
        .expect("db")
        .is_none());
    assert!(matches!(
        s.layers()
            .edit_layer_version(a, "nope", 1, Box::new(|_| true))
            .expect("db"),
        Edited::Missing
    ));
    let s = s.reopen();
    let kept = s
        .layers()
        .get_layer_version(a, "x", 1)
        .expect("get")
        .expect("kept");
    assert_eq!(kept.policy, [statement]);
    assert_eq!(kept.revision_id, "r1");
}
