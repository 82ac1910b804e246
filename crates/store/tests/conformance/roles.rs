//! IAM roles (`RoleStore`).

use hearth_model::iam::Role;
use hearth_store::{Edited, StoreError};

use crate::backend::Fixture;

each_backend!(roles_are_per_account_unique_regardless_of_case_and_listed_by_prefix);

fn role(account: &str, name: &str, path: &str) -> Role {
    Role {
        account: account.into(),
        name: name.into(),
        path: path.into(),
        id: "AROAAAAAAAAAAAAAAAAAA".into(),
        create_date: "2026-12-01T00:00:00Z".into(),
        assume_role_policy: "{}".into(),
        description: None,
        max_session_duration: 3600,
        tags: Vec::new(),
        permissions_boundary: None,
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
    }
}

fn roles_are_per_account_unique_regardless_of_case_and_listed_by_prefix(s: Fixture) {
    let r = s.roles();
    r.insert_role(&role("111111111111", "Alpha", "/"))
        .expect("insert");
    r.insert_role(&role("111111111111", "beta", "/svc/"))
        .expect("insert");
    r.insert_role(&role("222222222222", "alpha", "/"))
        .expect("other account");
    assert!(matches!(
        r.insert_role(&role("111111111111", "ALPHA", "/")),
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        r.get_role("111111111111", "alpha")
            .expect("get")
            .map(|r| r.name),
        Some("Alpha".to_string())
    );
    let names = |prefix, after, limit| {
        s.roles()
            .list_roles("111111111111", prefix, after, limit)
            .expect("list")
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("/", None, 10), ["Alpha", "beta"]);
    assert_eq!(names("/svc", None, 10), ["beta"]);
    assert_eq!(names("/", None, 1), ["Alpha"]);
    assert_eq!(names("/", Some("Alpha"), 10), ["beta"]);
    assert_eq!(names("/", Some("ALPHA"), 10), ["beta"]);
    let other: Vec<_> = r
        .list_roles("222222222222", "/", None, 10)
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(other, ["alpha"]);
    assert_eq!(
        r.edit_role("111111111111", "gamma", Box::new(|_| true))
            .expect("edit"),
        Edited::Missing
    );
    let mut inline = role("111111111111", "beta", "/svc/");
    inline.attached_policies.push("arn".into());
    inline
        .inline_policies
        .insert("p".into(), "{\"Statement\":[]}".into());
    let edited = r
        .edit_role(
            "111111111111",
            "BETA",
            Box::new(|r| {
                r.attached_policies.push("arn".into());
                r.inline_policies
                    .insert("p".into(), "{\"Statement\":[]}".into());
                true
            }),
        )
        .expect("edit");
    assert_eq!(edited, Edited::Done(inline.clone()));
    let s = s.reopen();
    let r = s.roles();
    assert_eq!(
        r.get_role("111111111111", "beta").expect("get"),
        Some(inline)
    );
    let kept = r
        .delete_role(
            "111111111111",
            "beta",
            Box::new(|r| r.attached_policies.is_empty()),
        )
        .expect("delete");
    assert_eq!(kept, Edited::Declined);
    assert!(r.get_role("111111111111", "beta").expect("get").is_some());
    let gone = r
        .delete_role("111111111111", "alpha", Box::new(|_| true))
        .expect("delete");
    assert!(matches!(gone, Edited::Done(_)));
    assert_eq!(r.get_role("111111111111", "alpha").expect("get"), None);
    assert_eq!(
        r.delete_role("111111111111", "alpha", Box::new(|_| true))
            .expect("delete"),
        Edited::Missing
    );
    assert!(r.get_role("222222222222", "alpha").expect("get").is_some());
}
