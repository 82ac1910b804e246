//! The fleet's nodes and leases (`FleetStore`): two stores on the same state stand for
//! two nodes.

use std::time::Duration;

use crate::backend::Fixture;

const TIMEOUT: Duration = Duration::from_secs(10);

each_backend!(
    a_lease_has_one_holder_until_it_lapses_or_is_given_up,
    racing_nodes_never_both_hold_a_lease,
    nodes_register_and_are_listed_with_their_heartbeats
);

const LONG: Duration = Duration::from_secs(600);

fn a_lease_has_one_holder_until_it_lapses_or_is_given_up(a: Fixture) {
    let b = a.another();
    assert_eq!(a.fleet().lease("sweep").expect("read"), None);
    let first = a
        .fleet()
        .acquire_lease("sweep", "node-a", LONG)
        .expect("acquire")
        .expect("free: taken");
    assert_eq!((first.holder.as_str(), first.token), ("node-a", 1));
    // Another node cannot take it; its holder renews it with the same token.
    assert_eq!(
        b.fleet()
            .acquire_lease("sweep", "node-b", LONG)
            .expect("acquire"),
        None
    );
    let renewed = b
        .fleet()
        .acquire_lease("sweep", "node-a", LONG)
        .expect("acquire")
        .expect("renewed by its holder");
    assert_eq!(renewed.token, 1);
    assert!(renewed.expires_ms >= first.expires_ms);
    // Given up by a non-holder: nothing happens. By its holder: the next holder's token
    // is higher (fencing).
    assert!(!a.fleet().release_lease("sweep", "node-b").expect("release"));
    assert!(a.fleet().release_lease("sweep", "node-a").expect("release"));
    assert!(!a.fleet().release_lease("sweep", "node-a").expect("again"));
    let taken = b
        .fleet()
        .acquire_lease("sweep", "node-b", Duration::from_millis(300))
        .expect("acquire")
        .expect("given up: taken");
    assert_eq!((taken.holder.as_str(), taken.token), ("node-b", 2));
    // A short lease lapses by the store's clock: then another node takes it.
    assert_eq!(
        a.fleet()
            .acquire_lease("sweep", "node-a", LONG)
            .expect("acquire"),
        None
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let retaken = loop {
        if let Some(l) = a
            .fleet()
            .acquire_lease("sweep", "node-a", LONG)
            .expect("acquire")
        {
            break l;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never lapsed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((retaken.holder.as_str(), retaken.token), ("node-a", 3));
    assert!(a.fleet().store_time_ms().expect("clock") >= taken.expires_ms);
    assert_eq!(b.fleet().lease("sweep").expect("read"), Some(retaken));
    // Leases are independent by name.
    assert!(b
        .fleet()
        .acquire_lease("gc", "node-b", LONG)
        .expect("acquire")
        .is_some());
}

fn racing_nodes_never_both_hold_a_lease(a: Fixture) {
    let stores: Vec<_> = (0..4).map(|_| a.another()).collect();
    let winners: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                scope.spawn(move || {
                    let me = format!("node-{i}");
                    let mut won = Vec::new();
                    for round in 0..25 {
                        let name = format!("round-{round}");
                        if s.fleet()
                            .acquire_lease(&name, &me, LONG)
                            .expect("acquire")
                            .is_some()
                        {
                            won.push(name);
                        }
                    }
                    won
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("no panic"))
            .collect()
    });
    // Every round was won exactly once.
    let mut sorted = winners.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "{winners:?}");
    assert_eq!(winners.len(), 25, "{winners:?}");
}

fn nodes_register_and_are_listed_with_their_heartbeats(a: Fixture) {
    let b = a.another();
    assert!(a.fleet().nodes().expect("list").is_empty());
    let first = a
        .fleet()
        .heartbeat("n2", "10.0.0.2:9000", r#"{"cpus":2}"#, TIMEOUT)
        .expect("register");
    b.fleet()
        .heartbeat("n1", "10.0.0.1:9000", r#"{"cpus":4}"#, TIMEOUT)
        .expect("register");
    std::thread::sleep(Duration::from_millis(5));
    let again = a
        .fleet()
        .heartbeat(
            "n2",
            "10.0.0.2:9001",
            r#"{"cpus":2}"#,
            Duration::from_secs(7),
        )
        .expect("heartbeat");
    assert_eq!(again.registered_ms, first.registered_ms);
    assert!(again.seen_ms > first.seen_ms);
    assert_eq!((first.timeout_ms, again.timeout_ms), (10_000, 7_000));
    assert!(!again.draining && !again.gone_at(again.seen_ms + 7_000));
    assert!(again.gone_at(again.seen_ms + 7_001));
    // A drain asked for by any node stays through the node's heartbeats.
    assert!(b.fleet().set_draining("n2", true).expect("drain"));
    assert!(!b.fleet().set_draining("nobody", true).expect("drain"));
    let again = a
        .fleet()
        .heartbeat(
            "n2",
            "10.0.0.2:9001",
            r#"{"cpus":2}"#,
            Duration::from_secs(7),
        )
        .expect("heartbeat");
    assert!(again.draining);
    let nodes = b.fleet().nodes().expect("list");
    let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n1", "n2"]);
    assert_eq!(nodes[1], again);
    assert!(b.fleet().forget_node("n1").expect("forget"));
    assert!(!b.fleet().forget_node("n1").expect("again"));
    assert_eq!(a.fleet().nodes().expect("list"), vec![again]);
}
