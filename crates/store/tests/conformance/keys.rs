//! Access keys (`KeyStore`).

use hearth_store::{StoreError, StoredKey};

use crate::backend::Fixture;

each_backend!(keys_are_inserted_listed_replaced_and_deleted);

fn key(id: &str, name: Option<&str>) -> StoredKey {
    StoredKey {
        access_key_id: id.into(),
        account: "111122223333".into(),
        user_name: name.map(str::to_string),
        sealed_secret: vec![1, 2, 3],
        policy: Some("{}".into()),
        created: 5,
    }
}

fn keys_are_inserted_listed_replaced_and_deleted(s: Fixture) {
    let k = s.keys();
    k.insert_key(&key("AKIA1", Some("alice"))).expect("insert");
    k.insert_key(&key("AKIA0", None)).expect("root");
    assert!(matches!(
        k.insert_key(&key("AKIA2", Some("alice"))),
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        k.insert_key(&key("AKIA1", Some("bob"))),
        Err(StoreError::Exists(_))
    ));
    let s = s.reopen();
    let k = s.keys();
    assert_eq!(
        k.list_keys().expect("list"),
        vec![key("AKIA0", None), key("AKIA1", Some("alice"))]
    );
    assert!(k
        .replace_key("AKIA1", &key("AKIA3", Some("alice")))
        .expect("rotate"));
    assert!(!k
        .replace_key("AKIA1", &key("AKIA4", Some("alice")))
        .expect("gone"));
    assert_eq!(
        k.list_keys().expect("list"),
        vec![key("AKIA0", None), key("AKIA3", Some("alice"))]
    );
    assert!(k.delete_key("AKIA3").expect("delete"));
    assert!(!k.delete_key("AKIA3").expect("deleted"));
    assert_eq!(k.list_keys().expect("list"), vec![key("AKIA0", None)]);
}
