//! Tags, resource-based policies and per-function settings (`ResourceStore`).

use hearth_model::arn::{function_arn, LATEST};
use hearth_model::function_settings::{FunctionSettings, RecursiveLoop};
use hearth_model::policy::{Policy, Principal, Statement};
use hearth_store::Edited;

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(
    tags_are_created_with_the_function_edited_and_deleted_with_it,
    policies_are_per_qualifier_and_go_with_what_they_belong_to,
    settings_default_until_set_and_go_with_the_function,
);

/// A statement letting anyone invoke, named `sid`.
pub fn statement(sid: &str) -> Statement {
    Statement {
        sid: sid.into(),
        effect: "Allow".into(),
        principal: Principal::Anyone("*".into()),
        action: "lambda:InvokeFunction".into(),
        resource: "r".into(),
        condition: None,
    }
}

/// Adds a statement to the policy of `q` of `f`; `None` if `q` does not exist.
fn add(s: &Fixture, q: &str, sid: &str) -> Option<Option<Policy>> {
    s.resources()
        .update_policy("f", q, |p| {
            p.get_or_insert_with(|| Policy {
                revision_id: "r".into(),
                statements: vec![],
            })
            .statements
            .push(statement(sid));
            Ok::<_, ()>(())
        })
        .expect("edit")
        .map(|r| r.expect("ok"))
}

fn tags_are_created_with_the_function_edited_and_deleted_with_it(s: Fixture) {
    let arn = function_arn("f", None);
    let mut f = sample("f");
    f.tags = [("a".to_string(), "1".to_string())].into();
    s.metadata().insert_function(&f).expect("insert");
    assert_eq!(s.resources().tags(&arn).expect("tags"), f.tags);
    assert!(
        s.metadata()
            .get_function("f")
            .expect("get")
            .expect("f")
            .tags
            .is_empty(),
        "the record does not keep a second copy"
    );
    let edited = s
        .resources()
        .update_tags(&arn, "f", |t| {
            t.insert("b".into(), "2".into());
            Ok::<_, ()>(())
        })
        .expect("edit");
    assert_eq!(edited.expect("exists").expect("ok").len(), 2);
    assert_eq!(
        s.resources()
            .edit_tags(&arn, "f", Box::new(|t| t.remove("a").is_none()))
            .expect("edit"),
        Edited::Declined
    );
    assert!(s
        .resources()
        .update_tags(&function_arn("g", None), "g", |_| Ok::<_, ()>(()))
        .expect("edit")
        .is_none());
    let s = s.reopen();
    assert_eq!(s.resources().tags(&arn).expect("tags").len(), 2);
    // Emptied tags are removed.
    s.resources()
        .update_tags(&arn, "f", |t| {
            t.clear();
            Ok::<_, ()>(())
        })
        .expect("edit")
        .expect("exists")
        .expect("ok");
    assert!(s.resources().tags(&arn).expect("tags").is_empty());
    s.resources()
        .update_tags(&arn, "f", |t| {
            t.insert("c".into(), "3".into());
            Ok::<_, ()>(())
        })
        .expect("edit");
    s.metadata().delete_function("f").expect("delete");
    s.metadata().insert_function(&sample("f")).expect("again");
    assert!(s.resources().tags(&arn).expect("tags").is_empty());
}

fn policies_are_per_qualifier_and_go_with_what_they_belong_to(s: Fixture) {
    assert_eq!(add(&s, LATEST, "a"), None, "no function");
    s.metadata().insert_function(&sample("f")).expect("insert");
    assert_eq!(add(&s, "1", "a"), None, "no version");
    add(&s, LATEST, "a").expect("added");
    publish(&s, "f");
    add(&s, "1", "b").expect("added");
    assert_eq!(add(&s, "live", "c"), None, "no alias");
    s.metadata()
        .insert_alias(&alias("f", "live"))
        .expect("alias");
    add(&s, "live", "c").expect("added");
    let s = s.reopen();
    let policy = |q| s.resources().policy("f", q).expect("get");
    assert_eq!(policy(LATEST).expect("some").statements, [statement("a")]);
    assert_eq!(policy("1").expect("some").statements, [statement("b")]);
    assert_eq!(policy("live").expect("some").statements, [statement("c")]);
    // Removing the last statement removes the policy.
    s.resources()
        .update_policy("f", LATEST, |p| {
            *p = None;
            Ok::<_, ()>(())
        })
        .expect("edit");
    assert_eq!(policy(LATEST), None);
    s.metadata().delete_version("f", 1).expect("delete");
    assert_eq!(policy("1"), None);
    s.metadata().delete_alias("f", "live").expect("delete");
    assert_eq!(policy("live"), None);
}

fn settings_default_until_set_and_go_with_the_function(s: Fixture) {
    assert_eq!(
        s.resources()
            .edit_function_settings("f", LATEST, Box::new(|_| true))
            .expect("edit"),
        Edited::Missing
    );
    s.metadata().insert_function(&sample("f")).expect("insert");
    assert_eq!(
        s.resources().function_settings("f", LATEST).expect("get"),
        FunctionSettings::default()
    );
    s.resources()
        .update_function_settings("f", LATEST, |s| {
            s.recursive_loop = Some(RecursiveLoop::Allow);
            Ok::<_, ()>(())
        })
        .expect("edit")
        .expect("exists")
        .expect("ok");
    assert_eq!(
        s.resources()
            .edit_function_settings("f", "1", Box::new(|_| true))
            .expect("edit"),
        Edited::Missing,
        "no version"
    );
    let s = s.reopen();
    assert_eq!(
        s.resources()
            .function_settings("f", LATEST)
            .expect("get")
            .recursive_loop,
        Some(RecursiveLoop::Allow)
    );
    s.metadata().delete_function("f").expect("delete");
    assert_eq!(
        s.resources().function_settings("f", LATEST).expect("get"),
        FunctionSettings::default()
    );
}
