//! API Gateway HTTP APIs (`HttpApiStore`): APIs and their child records.

use hearth_store::StoreError;

use crate::backend::Fixture;

const A: &str = "000000000000";
const B: &str = "111111111111";

each_backend!(apis_and_their_children_survive_a_restart);

fn apis_and_their_children_survive_a_restart(s: Fixture) {
    let apis = s.http_apis();
    apis.insert_http_api(A, "a1", r#"{"n":1}"#).expect("insert");
    apis.insert_http_api(A, "a2", r#"{"n":2}"#).expect("insert");
    apis.insert_http_api(B, "b1", r#"{"n":3}"#).expect("insert");
    assert!(matches!(
        apis.insert_http_api(A, "a1", "{}"),
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        apis.list_http_apis(A, None, 10).expect("list"),
        vec![r#"{"n":1}"#, r#"{"n":2}"#]
    );
    assert_eq!(
        apis.list_http_apis(A, Some("a1"), 10).expect("list"),
        vec![r#"{"n":2}"#]
    );
    assert_eq!(apis.list_http_apis(A, None, 1).expect("list").len(), 1);
    assert!(apis.put_http_api("a1", r#"{"n":10}"#).expect("put"));
    assert!(!apis.put_http_api("zz", "{}").expect("put"));
    assert!(apis
        .insert_http_api_child("a1", "route", "r1", "R1")
        .expect("child"));
    assert!(apis
        .insert_http_api_child("a1", "route", "r0", "R0")
        .expect("child"));
    assert!(apis
        .insert_http_api_child("a1", "stage", "$default", "S")
        .expect("child"));
    assert!(matches!(
        apis.insert_http_api_child("a1", "route", "r1", "again"),
        Err(StoreError::Exists(_))
    ));
    assert!(!apis
        .insert_http_api_child("gone", "route", "r1", "R")
        .expect("child"));
    assert!(apis
        .put_http_api_child("a1", "route", "r1", "R1b")
        .expect("put"));
    assert!(!apis
        .put_http_api_child("a1", "route", "nope", "x")
        .expect("put"));
    let s = s.reopen();
    let apis = s.http_apis();
    assert_eq!(
        apis.get_http_api("a1").expect("get"),
        Some((A.to_string(), r#"{"n":10}"#.to_string()))
    );
    assert_eq!(
        apis.list_http_api_children("a1", "route").expect("list"),
        vec!["R0", "R1b"]
    );
    assert_eq!(
        apis.get_http_api_child("a1", "stage", "$default")
            .expect("get"),
        Some("S".to_string())
    );
    assert!(apis
        .delete_http_api_child("a1", "route", "r0")
        .expect("delete"));
    assert!(!apis
        .delete_http_api_child("a1", "route", "r0")
        .expect("delete"));
    assert!(apis.delete_http_api("a1").expect("delete"));
    assert!(!apis.delete_http_api("a1").expect("delete"));
    assert_eq!(apis.get_http_api("a1").expect("get"), None);
    // The API's children went with it: a new API of the same id starts empty.
    apis.insert_http_api(A, "a1", "{}").expect("insert");
    assert!(apis
        .list_http_api_children("a1", "route")
        .expect("list")
        .is_empty());
    assert_eq!(
        apis.get_http_api_child("a1", "stage", "$default")
            .expect("get"),
        None
    );
}
