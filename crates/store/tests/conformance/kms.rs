//! Hearth's KMS keys (`KmsStore`) and the environments sealed under them.

use crate::backend::Fixture;
use crate::records::sample;

const A: &str = "000000000000";
const B: &str = "111111111111";

each_backend!(keys_and_what_they_seal_survive_a_restart);

fn keys_and_what_they_seal_survive_a_restart(s: Fixture) {
    assert!(s.kms().list_kms_keys().expect("list").is_empty());
    let key = s.kms().create_kms_key(A, "mine").expect("create");
    let other = s.kms().create_kms_key(B, "").expect("create");
    assert_ne!(key.arn, other.arn);
    assert_eq!(key.description, "mine");
    assert!(key
        .arn
        .starts_with("arn:aws:kms:us-east-1:000000000000:key/"));
    // A key of another account has that account in its ARN.
    assert!(other
        .arn
        .starts_with("arn:aws:kms:us-east-1:111111111111:key/"));
    assert!(key.arn.ends_with(&key.key_id));
    assert!(s.kms().kms_key_exists(&key.arn));
    assert!(!s
        .kms()
        .kms_key_exists("arn:aws:kms:us-east-1:000000000000:key/other"));
    let mut f = sample("f");
    f.environment = [("S".to_string(), "value-under-kms".to_string())].into();
    f.kms_key_arn = Some(key.arn.clone());
    s.metadata().insert_function(&f).expect("insert");
    let s = s.reopen();
    let mut listed = s.kms().list_kms_keys().expect("list");
    listed.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.arn.cmp(&b.arn)));
    let mut want = vec![key.clone(), other];
    want.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then(a.arn.cmp(&b.arn)));
    assert_eq!(listed, want);
    assert!(s.kms().kms_key_exists(&key.arn));
    assert_eq!(s.metadata().get_function("f").expect("get"), Some(f));
}
