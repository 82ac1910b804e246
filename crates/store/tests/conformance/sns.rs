//! SNS (`SnsStore`): topics and subscriptions as records, the delivery queue's claims and
//! holds (across nodes on a shared store), and settings decided once.

use hearth_store::{SnsDelivery, StoreError};

use crate::backend::Fixture;

const A: &str = "000000000000";
const B: &str = "111111111111";

each_backend!(
    topics_and_subscriptions_survive_a_restart,
    deliveries_are_claimed_once_and_held,
    a_delivery_sees_the_one_ahead_of_it_in_its_group,
    a_setting_is_decided_by_the_first_to_set_it,
    fifo_deduplication_remembers_an_id_for_its_window
);

fn fifo_deduplication_remembers_an_id_for_its_window(s: Fixture) {
    let sns = s.sns();
    assert_eq!(
        sns.sns_dedup("t", "d", "m1", "1", 1_000, 300)
            .expect("first"),
        None
    );
    let other = s.another();
    assert_eq!(
        other
            .sns()
            .sns_dedup("t", "d", "m2", "2", 1_100, 300)
            .expect("again"),
        Some(("m1".to_string(), "1".to_string()))
    );
    // Another topic, another id.
    assert_eq!(
        sns.sns_dedup("u", "d", "m3", "3", 1_100, 300)
            .expect("other"),
        None
    );
    let s = s.reopen();
    let sns = s.sns();
    assert_eq!(
        sns.sns_dedup("t", "d", "m4", "4", 1_299, 300)
            .expect("within"),
        Some(("m1".to_string(), "1".to_string()))
    );
    // Past the window the id is new again.
    assert_eq!(
        sns.sns_dedup("t", "d", "m5", "5", 1_300, 300)
            .expect("after"),
        None
    );
    // A topic deleted and created again under its name remembers nothing of the old one.
    sns.insert_sns_topic(A, "arn:fifo", "F").expect("insert");
    assert_eq!(
        sns.sns_dedup("arn:fifo", "d", "m6", "6", 1_300, 300)
            .expect("first"),
        None
    );
    assert!(sns.delete_sns_topic("arn:fifo").expect("delete"));
    sns.insert_sns_topic(A, "arn:fifo", "F").expect("again");
    assert_eq!(
        sns.sns_dedup("arn:fifo", "d", "m7", "7", 1_301, 300)
            .expect("new topic"),
        None
    );
}

fn topics_and_subscriptions_survive_a_restart(s: Fixture) {
    let sns = s.sns();
    sns.insert_sns_topic(A, "arn:t1", "T1").expect("insert");
    sns.insert_sns_topic(A, "arn:t2", "T2").expect("insert");
    sns.insert_sns_topic(B, "arn:t3", "T3").expect("insert");
    assert!(matches!(
        sns.insert_sns_topic(A, "arn:t1", "again"),
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        sns.list_sns_topics(A, None, 10).expect("list"),
        ["T1", "T2"]
    );
    assert_eq!(
        sns.list_sns_topics(A, Some("arn:t1"), 10).expect("list"),
        ["T2"]
    );
    assert_eq!(sns.list_sns_topics(A, None, 1).expect("list"), ["T1"]);
    assert!(sns.put_sns_topic("arn:t1", "T1b").expect("put"));
    assert!(!sns.put_sns_topic("arn:nope", "x").expect("put"));
    assert!(sns
        .insert_sns_subscription(A, "arn:t1", "arn:t1:s1", "S1")
        .expect("sub"));
    assert!(sns
        .insert_sns_subscription(B, "arn:t1", "arn:t1:s2", "S2")
        .expect("sub"));
    assert!(sns
        .insert_sns_subscription(A, "arn:t2", "arn:t2:s3", "S3")
        .expect("sub"));
    assert!(!sns
        .insert_sns_subscription(A, "arn:gone", "arn:gone:s", "S")
        .expect("sub"));
    assert!(matches!(
        sns.insert_sns_subscription(A, "arn:t1", "arn:t1:s1", "again"),
        Err(StoreError::Exists(_))
    ));
    let s = s.reopen();
    let sns = s.sns();
    assert_eq!(
        sns.get_sns_topic("arn:t1").expect("get").as_deref(),
        Some("T1b")
    );
    assert_eq!(
        sns.list_sns_subscriptions(Some(A), None, None, 10)
            .expect("list"),
        ["S1", "S3"]
    );
    assert_eq!(
        sns.list_sns_subscriptions(None, Some("arn:t1"), None, 10)
            .expect("list"),
        ["S1", "S2"]
    );
    assert_eq!(
        sns.list_sns_subscriptions(None, Some("arn:t1"), Some("arn:t1:s1"), 10)
            .expect("list"),
        ["S2"]
    );
    assert!(sns.put_sns_subscription("arn:t1:s1", "S1b").expect("put"));
    assert_eq!(
        sns.get_sns_subscription("arn:t1:s1")
            .expect("get")
            .as_deref(),
        Some("S1b")
    );
    assert!(sns.delete_sns_subscription("arn:t1:s2").expect("delete"));
    assert!(!sns.delete_sns_subscription("arn:t1:s2").expect("delete"));
    // A topic takes its subscriptions with it.
    assert!(sns.delete_sns_topic("arn:t1").expect("delete"));
    assert!(!sns.delete_sns_topic("arn:t1").expect("delete"));
    assert_eq!(sns.get_sns_subscription("arn:t1:s1").expect("get"), None);
    assert_eq!(
        sns.list_sns_subscriptions(Some(A), None, None, 10)
            .expect("list"),
        ["S3"]
    );
}

fn row(id: &str, due_ms: i64) -> SnsDelivery {
    SnsDelivery {
        id: id.into(),
        due_ms,
        attempts: 0,
        data: format!("data {id}"),
    }
}

fn ids(rows: &[SnsDelivery]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

fn deliveries_are_claimed_once_and_held(s: Fixture) {
    let sns = s.sns();
    sns.add_sns_deliveries(&[row("a", 10), row("b", 20), row("c", 1_000)])
        .expect("add");
    // An id already queued is kept as it is.
    sns.add_sns_deliveries(&[row("a", 5)]).expect("add");
    let other = s.another();
    let first = sns.claim_sns_deliveries("n1", 100, 50, 1).expect("claim");
    assert_eq!(ids(&first), ["a"]);
    assert_eq!(first[0].due_ms, 10);
    let second = other
        .sns()
        .claim_sns_deliveries("n2", 100, 50, 10)
        .expect("claim");
    assert_eq!(ids(&second), ["b"]);
    assert!(sns
        .claim_sns_deliveries("n1", 120, 50, 10)
        .expect("claim")
        .is_empty());
    sns.finish_sns_delivery("a").expect("finish");
    sns.retry_sns_delivery("b", 130, 3).expect("retry");
    let s = s.reopen();
    let sns = s.sns();
    let again = sns.claim_sns_deliveries("n3", 140, 50, 10).expect("claim");
    assert_eq!(
        again,
        [SnsDelivery {
            attempts: 3,
            due_ms: 130,
            ..row("b", 0)
        }]
    );
    // n3 died: its hold ends, and another node takes the row.
    let later = sns.claim_sns_deliveries("n4", 191, 50, 10).expect("claim");
    assert_eq!(ids(&later), ["b"]);
    // Soonest due first: b (whose hold ended too), then c.
    let all = sns
        .claim_sns_deliveries("n5", 2_000, 50, 10)
        .expect("claim");
    assert_eq!(ids(&all), ["b", "c"]);
}

/// FIFO rows are named `<subscription> <group> <sequence>`: the row ahead of one is the
/// first of its prefix below it, held or not, until it is done; other groups, and ids
/// that merely start alike (a longer group name), are not ahead of it.
fn a_delivery_sees_the_one_ahead_of_it_in_its_group(s: Fixture) {
    let sns = s.sns();
    sns.add_sns_deliveries(&[
        row("s g 002", 10),
        row("s g 003", 20),
        row("s g 001 x/dead-letter", 30),
        row("s g2 000", 5),
        row("s h 000", 5),
    ])
    .expect("add");
    assert_eq!(
        sns.sns_delivery_ahead("s g ", "s g 003").expect("ahead"),
        Some(30)
    );
    sns.claim_sns_deliveries("n1", 100, 50, 10).expect("claim");
    let other = s.another();
    let ahead = |before: &str| {
        other
            .sns()
            .sns_delivery_ahead("s g ", before)
            .expect("ahead")
    };
    // Held by a node is still ahead.
    assert_eq!(ahead("s g 002"), Some(30));
    other
        .sns()
        .finish_sns_delivery("s g 001 x/dead-letter")
        .expect("finish");
    assert_eq!(ahead("s g 002"), None);
    assert_eq!(ahead("s g 003"), Some(10));
    assert_eq!(
        other
            .sns()
            .sns_delivery_ahead("s h ", "s h 000")
            .expect("ahead"),
        None
    );
}

fn a_setting_is_decided_by_the_first_to_set_it(s: Fixture) {
    let sns = s.sns();
    assert_eq!(sns.sns_setting("key", None).expect("read"), None);
    assert_eq!(
        sns.sns_setting("key", Some("one")).expect("set").as_deref(),
        Some("one")
    );
    let other = s.another();
    assert_eq!(
        other
            .sns()
            .sns_setting("key", Some("two"))
            .expect("set")
            .as_deref(),
        Some("one")
    );
    let s = s.reopen();
    assert_eq!(
        s.sns().sns_setting("key", None).expect("read").as_deref(),
        Some("one")
    );
}
