//! Concurrency tokens (`FleetStore::lease_tokens`): stores on the same state stand for
//! nodes sharing a limit.

use std::time::Duration;

use crate::backend::Fixture;

each_backend!(
    a_node_gets_what_the_others_leave_and_gives_it_back,
    racing_nodes_never_hold_more_than_the_limit,
    lapsed_tokens_are_reclaimed
);

const LONG: Duration = Duration::from_secs(600);

fn held(a: &hearth_store::Store, scope: &str) -> Vec<(String, i64)> {
    a.fleet()
        .token_leases(scope)
        .expect("read")
        .into_iter()
        .map(|l| (l.node, l.tokens))
        .collect()
}

fn a_node_gets_what_the_others_leave_and_gives_it_back(a: Fixture) {
    let b = a.another();
    let take = |s: &hearth_store::Store, node: &str, want: i64| {
        s.fleet()
            .lease_tokens("reserved/f", node, want, 5, LONG)
            .expect("lease")
    };
    assert_eq!(take(&a, "node-a", 3), 3);
    assert_eq!(take(&b, "node-b", 3), 2, "only two left of five");
    assert_eq!(take(&b, "node-c", 1), 0, "none left");
    assert_eq!(
        held(&a, "reserved/f"),
        [("node-a".to_string(), 3), ("node-b".to_string(), 2)]
    );
    // A give-back frees tokens for the others; a renewal keeps what a node holds.
    assert_eq!(take(&a, "node-a", 1), 1);
    assert_eq!(take(&b, "node-c", 4), 2);
    assert_eq!(take(&b, "node-b", 2), 2, "renewed");
    assert_eq!(take(&a, "node-a", 0), 0);
    assert_eq!(
        held(&b, "reserved/f"),
        [("node-b".to_string(), 2), ("node-c".to_string(), 2)]
    );
    // Scopes are independent; a lower limit grants nothing more, never takes back.
    assert_eq!(
        a.fleet()
            .lease_tokens("unreserved/1", "node-a", 9, 10, LONG)
            .expect("lease"),
        9
    );
    assert_eq!(
        a.fleet()
            .lease_tokens("reserved/f", "node-a", 1, 3, LONG)
            .expect("lease"),
        0
    );
    assert_eq!(held(&a, "reserved/f").len(), 2);
}

fn racing_nodes_never_hold_more_than_the_limit(a: Fixture) {
    const LIMIT: i64 = 7;
    let stores: Vec<_> = (0..4).map(|_| a.another()).collect();
    std::thread::scope(|scope| {
        for (i, s) in stores.iter().enumerate() {
            scope.spawn(move || {
                let me = format!("node-{i}");
                for round in 0..40 {
                    // Each grows and shrinks its share at random-ish steps.
                    let want = (round * (i as i64 + 3)) % 6;
                    s.fleet()
                        .lease_tokens("reserved/race", &me, want, LIMIT, LONG)
                        .expect("lease");
                }
            });
        }
        // Meanwhile the sum is never over the limit.
        for _ in 0..40 {
            let sum: i64 = held(&a, "reserved/race").iter().map(|(_, t)| t).sum();
            assert!(sum <= LIMIT, "{sum} tokens held of {LIMIT}");
        }
    });
    let sum: i64 = held(&a, "reserved/race").iter().map(|(_, t)| t).sum();
    assert!(sum <= LIMIT, "{sum} tokens held of {LIMIT}");
    // Every node asking for everything at once: exactly the limit is handed out.
    let got: i64 = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                scope.spawn(move || {
                    s.fleet()
                        .lease_tokens("reserved/all", &format!("node-{i}"), LIMIT, LIMIT, LONG)
                        .expect("lease")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .sum()
    });
    assert_eq!(got, LIMIT);
}

fn lapsed_tokens_are_reclaimed(a: Fixture) {
    let b = a.another();
    assert_eq!(
        a.fleet()
            .lease_tokens("reserved/g", "dead", 4, 4, Duration::from_millis(300))
            .expect("lease"),
        4
    );
    assert_eq!(
        b.fleet()
            .lease_tokens("reserved/g", "alive", 2, 4, LONG)
            .expect("lease"),
        0,
        "the dead node's tokens count until they lapse"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = b
            .fleet()
            .lease_tokens("reserved/g", "alive", 4, 4, LONG)
            .expect("lease");
        if got == 4 {
            break;
        }
        assert_eq!(got, 0);
        assert!(
            std::time::Instant::now() < deadline,
            "the tokens never lapsed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(held(&a, "reserved/g"), [("alive".to_string(), 4)]);
    // Only a backend with other nodes needs the tokens.
    assert_eq!(a.fleet().shared(), a.another_node().is_some());
}
