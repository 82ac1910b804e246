//! Function URLs (`ResourceStore::*function_url*`): one per function and qualifier,
//! found by id, gone with the function or alias they belong to.

use hearth_model::arn::LATEST;
use hearth_model::function_url::{AuthType, FunctionUrl, InvokeMode};

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(urls_are_found_by_id_kept_across_restarts_and_go_with_their_owner);

fn url(id: &str, function: &str, qualifier: &str) -> FunctionUrl {
    FunctionUrl {
        url_id: id.into(),
        function: function.into(),
        qualifier: qualifier.into(),
        auth_type: AuthType::None,
        cors: None,
        invoke_mode: InvokeMode::Buffered,
        creation_time: "t0".into(),
        last_modified_time: "t0".into(),
    }
}

/// Creates the URL unless one exists; `None` when the function or alias is missing.
fn create(s: &Fixture, u: FunctionUrl) -> Option<Option<FunctionUrl>> {
    let (f, q) = (u.function.clone(), u.qualifier.clone());
    s.resources()
        .update_function_url(&f, &q, |slot| {
            if slot.is_some() {
                return Err(());
            }
            *slot = Some(u);
            Ok(())
        })
        .expect("store")
        .map(|r| r.ok().flatten())
}

fn urls_are_found_by_id_kept_across_restarts_and_go_with_their_owner(s: Fixture) {
    assert_eq!(create(&s, url("u1", "f", LATEST)), None, "no function");
    s.metadata().insert_function(&sample("f")).expect("insert");
    create(&s, url("u1", "f", LATEST)).expect("created");
    assert_eq!(
        create(&s, url("u9", "f", LATEST)),
        Some(None),
        "one per qualifier"
    );
    publish(&s, "f");
    assert_eq!(create(&s, url("u2", "f", "live")), None, "no alias");
    s.metadata()
        .insert_alias(&alias("f", "live"))
        .expect("alias");
    create(&s, url("u2", "f", "live")).expect("created");
    let s = s.reopen();
    let r = s.resources();
    assert_eq!(
        r.function_url_by_id("u2").expect("get"),
        Some(url("u2", "f", "live"))
    );
    assert_eq!(
        r.function_url("f", LATEST).expect("get"),
        Some(url("u1", "f", LATEST))
    );
    assert_eq!(r.function_url_by_id("u9").expect("get"), None);
    let ids = |s: &Fixture| -> Vec<String> {
        s.resources()
            .function_urls("f")
            .expect("list")
            .into_iter()
            .map(|u| u.url_id)
            .collect()
    };
    // `$LATEST` sorts before the aliases.
    assert_eq!(ids(&s), ["u1", "u2"]);
    // An update keeps the id.
    r.update_function_url("f", LATEST, |slot| {
        if let Some(u) = slot {
            u.auth_type = AuthType::AwsIam;
        }
        Ok::<_, ()>(())
    })
    .expect("edit");
    let u1 = r.function_url_by_id("u1").expect("get").expect("kept");
    assert_eq!(u1.auth_type, AuthType::AwsIam);
    s.metadata().delete_alias("f", "live").expect("delete");
    assert_eq!(r.function_url_by_id("u2").expect("get"), None);
    assert_eq!(ids(&s), ["u1"]);
    s.metadata().delete_function("f").expect("delete");
    assert_eq!(r.function_url_by_id("u1").expect("get"), None);
}
