//! Reserved and provisioned concurrency (`MetadataStore`).

use hearth_model::concurrency::ProvisionedConfig;

use crate::backend::Fixture;

each_backend!(reserved_and_provisioned_round_trip);

fn reserved_and_provisioned_round_trip(s: Fixture) {
    let m = s.metadata();
    assert_eq!(m.get_reserved("f").expect("get"), None);
    m.set_reserved("f", Some(5)).expect("set");
    m.set_reserved("g", Some(0)).expect("set");
    m.set_reserved("h", Some(7)).expect("set");
    assert_eq!(m.get_reserved("f").expect("get"), Some(5));
    m.set_reserved("f", None).expect("unset");
    m.set_reserved("h", Some(8)).expect("replace");
    let c = |function: &str, qualifier: &str, requested| ProvisionedConfig {
        function: function.into(),
        qualifier: qualifier.into(),
        requested,
        last_modified: "t".into(),
    };
    m.put_provisioned(&c("f", "live", 1)).expect("put");
    m.put_provisioned(&c("f", "live", 2)).expect("replace");
    m.put_provisioned(&c("f", "1", 4)).expect("put");
    m.put_provisioned(&c("g", "live", 3)).expect("put");
    let s = s.reopen();
    let m = s.metadata();
    let mut reserved = m.all_reserved().expect("all");
    reserved.sort();
    assert_eq!(reserved, [("g".to_string(), 0), ("h".to_string(), 8)]);
    assert_eq!(
        m.get_provisioned("f", "live").expect("get"),
        Some(c("f", "live", 2))
    );
    assert_eq!(m.get_provisioned("f", "2").expect("get"), None);
    let mut of_f = m.list_provisioned(Some("f")).expect("list");
    of_f.sort_by(|a, b| a.qualifier.cmp(&b.qualifier));
    assert_eq!(of_f, [c("f", "1", 4), c("f", "live", 2)]);
    assert_eq!(m.list_provisioned(None).expect("list").len(), 3);
    assert!(m.list_provisioned(Some("h")).expect("list").is_empty());
    assert!(m.delete_provisioned("f", "live").expect("delete"));
    assert!(!m.delete_provisioned("f", "live").expect("deleted"));
    assert_eq!(m.get_provisioned("f", "live").expect("get"), None);
}
