//! EventBridge Schemas (`SchemaStore`): each account's registries, their schemas'
//! versions, listings by prefix and page, and deletes, kept across a restart and seen by
//! another store on the same state.

use hearth_store::StoreError;

use crate::backend::Fixture;

const A: &str = "000000000000";
const B: &str = "111111111111";

each_backend!(
    registries_are_per_account,
    schemas_keep_their_versions_and_survive_a_restart,
    deleting_a_registry_deletes_its_schemas
);

fn registries_are_per_account(s: Fixture) {
    let st = s.schemas();
    st.insert_schema_registry(A, "lambda-testevent-schemas", r#"{"a":1}"#)
        .expect("insert");
    st.insert_schema_registry(A, "other", r#"{"a":2}"#)
        .expect("insert");
    // Another account may have a registry of the same name.
    st.insert_schema_registry(B, "other", r#"{"b":1}"#)
        .expect("insert");
    assert!(matches!(
        st.insert_schema_registry(A, "other", "{}"),
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        st.get_schema_registry(B, "other").expect("get").as_deref(),
        Some(r#"{"b":1}"#)
    );
    assert_eq!(
        st.get_schema_registry(B, "lambda-testevent-schemas")
            .expect("get"),
        None
    );
    let names = |rows: Vec<(String, String)>| rows.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names(st.list_schema_registries(A, "", None, 10).expect("list")),
        ["lambda-testevent-schemas", "other"]
    );
    assert_eq!(
        names(st.list_schema_registries(A, "oth", None, 10).expect("list")),
        ["other"]
    );
    assert_eq!(
        names(st.list_schema_registries(A, "", None, 1).expect("list")),
        ["lambda-testevent-schemas"]
    );
    assert_eq!(
        names(
            st.list_schema_registries(A, "", Some("lambda-testevent-schemas"), 10)
                .expect("list")
        ),
        ["other"]
    );
    assert_eq!(
        names(st.list_schema_registries(B, "", None, 10).expect("list")),
        ["other"]
    );
    assert!(st.delete_schema_registry(B, "other").expect("delete"));
    assert!(!st.delete_schema_registry(B, "other").expect("again"));
    assert!(st.get_schema_registry(A, "other").expect("get").is_some());
}

fn schemas_keep_their_versions_and_survive_a_restart(s: Fixture) {
    let st = s.schemas();
    // No registry: nothing stored.
    assert!(!st
        .insert_schema_version(A, "r", "_f-schema", 1, "{}")
        .expect("insert"));
    st.insert_schema_registry(A, "r", "{}").expect("registry");
    assert!(st
        .insert_schema_version(A, "r", "_f-schema", 1, r#"{"v":1}"#)
        .expect("insert"));
    assert!(matches!(
        st.insert_schema_version(A, "r", "_f-schema", 1, "{}"),
        Err(StoreError::Exists(_))
    ));
    assert!(st
        .insert_schema_version(A, "r", "_f-schema", 2, r#"{"v":2}"#)
        .expect("insert"));
    assert!(st
        .insert_schema_version(A, "r", "_g-schema", 1, r#"{"g":1}"#)
        .expect("insert"));
    assert!(st
        .insert_schema_version(A, "r", "other", 1, r#"{"o":1}"#)
        .expect("insert"));
    // Another account's registry of the same name is not this one.
    assert!(!st
        .insert_schema_version(B, "r", "_f-schema", 1, "{}")
        .expect("insert"));

    let s = s.reopen();
    let st = s.schemas();
    assert_eq!(
        st.get_schema_version(A, "r", "_f-schema", None)
            .expect("latest"),
        Some((2, r#"{"v":2}"#.to_string()))
    );
    assert_eq!(
        st.get_schema_version(A, "r", "_f-schema", Some(1))
            .expect("v1"),
        Some((1, r#"{"v":1}"#.to_string()))
    );
    assert_eq!(
        st.get_schema_version(A, "r", "_f-schema", Some(3))
            .expect("v3"),
        None
    );
    assert_eq!(
        st.get_schema_version(B, "r", "_f-schema", None)
            .expect("other account"),
        None
    );
    let listed = st.list_schemas(A, "r", "_", None, 10).expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.name.as_str(), r.versions, r.version, r.data.as_str()))
            .collect::<Vec<_>>(),
        [
            ("_f-schema", 2, 2, r#"{"v":2}"#),
            ("_g-schema", 1, 1, r#"{"g":1}"#)
        ]
    );
    let page = st
        .list_schemas(A, "r", "", Some("_f-schema"), 1)
        .expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].name, "_g-schema");
    assert_eq!(
        st.list_schema_versions(A, "r", "_f-schema")
            .expect("versions"),
        [(1, r#"{"v":1}"#.to_string()), (2, r#"{"v":2}"#.to_string())]
    );
    // Another store on the same state sees them.
    let other = s.another();
    assert_eq!(
        other
            .schemas()
            .get_schema_version(A, "r", "_g-schema", None)
            .expect("other store"),
        Some((1, r#"{"g":1}"#.to_string()))
    );
    // One version deleted: the others kept, the latest the one before it.
    assert!(st
        .insert_schema_version(A, "r", "_f-schema", 3, r#"{"v":3}"#)
        .expect("insert"));
    assert!(st
        .delete_schema_version(A, "r", "_f-schema", 1)
        .expect("delete v1"));
    assert!(!st
        .delete_schema_version(A, "r", "_f-schema", 1)
        .expect("again"));
    assert!(st
        .delete_schema_version(A, "r", "_f-schema", 3)
        .expect("delete v3"));
    assert_eq!(
        st.list_schema_versions(A, "r", "_f-schema")
            .expect("versions"),
        [(2, r#"{"v":2}"#.to_string())]
    );
    assert!(st.delete_schema(A, "r", "_f-schema").expect("delete"));
    assert!(!st.delete_schema(A, "r", "_f-schema").expect("again"));
    assert_eq!(
        st.list_schema_versions(A, "r", "_f-schema")
            .expect("versions"),
        []
    );
}

fn deleting_a_registry_deletes_its_schemas(s: Fixture) {
    let st = s.schemas();
    st.insert_schema_registry(A, "r", "{}").expect("registry");
    assert!(st
        .insert_schema_version(A, "r", "s", 1, "{}")
        .expect("insert"));
    assert!(st.delete_schema_registry(A, "r").expect("delete"));
    st.insert_schema_registry(A, "r", "{}").expect("again");
    assert_eq!(st.list_schemas(A, "r", "", None, 10).expect("list"), []);
    assert_eq!(st.get_schema_version(A, "r", "s", None).expect("get"), None);
}
