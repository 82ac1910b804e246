//! EventBridge and Scheduler (`EventsStore`): buses, rules, schedule groups and schedules
//! as records listed by name (prefix and paging), their cascades, atomic edits, the
//! once-per-slot claim across nodes, and the delivery queue's claims and holds.

use std::sync::Barrier;

use hearth_store::{EventDelivery, Store, StoreError};

use crate::backend::Fixture;

const A: &str = "000000000000";
const B: &str = "111111111111";

each_backend!(
    buses_are_listed_by_name_with_a_prefix_and_pages,
    rules_live_and_die_with_their_bus,
    groups_and_schedules_list_by_group_then_name,
    deleting_a_group_takes_its_schedules_and_their_progress,
    edits_read_and_write_one_record_atomically,
    edits_by_racing_nodes_all_land,
    a_slot_is_claimed_once_and_only_while_its_owner_exists,
    racing_nodes_claim_each_slot_exactly_once,
    a_fired_slot_queues_its_deliveries_with_the_claim,
    a_node_started_again_frees_what_it_held,
    deliveries_are_claimed_once_and_held,
    racing_claimers_get_distinct_deliveries
);

fn bus(account: &str, name: &str) -> String {
    format!("arn:aws:events:us-east-1:{account}:event-bus/{name}")
}

fn rule(account: &str, bus: &str, name: &str) -> String {
    if bus == "default" {
        format!("arn:aws:events:us-east-1:{account}:rule/{name}")
    } else {
        format!("arn:aws:events:us-east-1:{account}:rule/{bus}/{name}")
    }
}

fn group(account: &str, name: &str) -> String {
    format!("arn:aws:scheduler:us-east-1:{account}:schedule-group/{name}")
}

fn schedule(account: &str, group: &str, name: &str) -> String {
    format!("arn:aws:scheduler:us-east-1:{account}:schedule/{group}/{name}")
}

fn buses_are_listed_by_name_with_a_prefix_and_pages(s: Fixture) {
    let ev = s.events();
    for name in ["orders-eu", "default", "bx1", "orders", "b_1"] {
        ev.insert_event_bus(A, &bus(A, name), name).expect("insert");
    }
    // A partner bus's name has `/`s; a bus of another region sorts by name, not ARN.
    let partner = bus(A, "aws.partner/example.com/123/p");
    ev.insert_event_bus(A, &partner, "partner")
        .expect("partner");
    let west = format!("arn:aws:events:us-west-2:{A}:event-bus/alpha");
    ev.insert_event_bus(A, &west, "alpha").expect("west");
    ev.insert_event_bus(B, &bus(B, "default"), "B default")
        .expect("other account");
    assert!(matches!(
        ev.insert_event_bus(A, &bus(A, "orders"), "again"),
        Err(StoreError::Exists(arn)) if arn == bus(A, "orders")
    ));
    let list = |prefix, after, limit| {
        ev.list_event_buses(A, prefix, after, limit)
            .expect("list buses")
    };
    assert_eq!(
        list(None, None, 100),
        [
            "alpha",
            "partner",
            "b_1",
            "bx1",
            "default",
            "orders",
            "orders-eu"
        ]
    );
    assert_eq!(list(None, None, 2), ["alpha", "partner"]);
    assert_eq!(
        list(None, Some("aws.partner/example.com/123/p"), 2),
        ["b_1", "bx1"]
    );
    assert_eq!(list(None, Some("orders-eu"), 2), Vec::<String>::new());
    assert_eq!(list(Some("orders"), None, 100), ["orders", "orders-eu"]);
    assert_eq!(list(Some("orders"), Some("orders"), 100), ["orders-eu"]);
    // `_` is a character, not a wildcard.
    assert_eq!(list(Some("b_"), None, 100), ["b_1"]);
    assert_eq!(list(Some("aws.partner/"), None, 100), ["partner"]);
    assert_eq!(list(Some("zzz"), None, 100), Vec::<String>::new());
    assert_eq!(
        ev.list_event_buses(B, None, None, 100).expect("list"),
        ["B default"]
    );

    assert!(ev
        .put_event_bus(&bus(A, "orders"), "orders v2")
        .expect("put"));
    assert!(!ev.put_event_bus(&bus(A, "nope"), "x").expect("put"));
    assert_eq!(ev.get_event_bus(&bus(A, "nope")).expect("get"), None);
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(
        ev.get_event_bus(&bus(A, "orders")).expect("get").as_deref(),
        Some("orders v2")
    );
    let other = s.another();
    assert_eq!(
        other
            .events()
            .get_event_bus(&partner)
            .expect("get")
            .as_deref(),
        Some("partner")
    );
    assert!(ev.delete_event_bus(&bus(A, "bx1")).expect("delete"));
    assert!(!ev.delete_event_bus(&bus(A, "bx1")).expect("deleted"));
    assert_eq!(
        ev.list_event_buses(A, Some("b"), None, 100).expect("list"),
        ["b_1"],
        "the deleted bus is gone from listings"
    );
}

fn rules_live_and_die_with_their_bus(s: Fixture) {
    let ev = s.events();
    let default = bus(A, "default");
    let custom = bus(A, "custom");
    ev.insert_event_bus(A, &default, "D").expect("bus");
    ev.insert_event_bus(A, &custom, "C").expect("bus");
    // No bus, no rule.
    assert!(!ev
        .insert_event_rule(A, &bus(A, "gone"), &rule(A, "gone", "r"), "R")
        .expect("insert"));
    assert_eq!(ev.get_event_rule(&rule(A, "gone", "r")).expect("get"), None);
    for name in ["r2", "r1", "r_x", "rzx", "s1"] {
        assert!(ev
            .insert_event_rule(A, &default, &rule(A, "default", name), name)
            .expect("insert"));
    }
    for name in ["c2", "c1"] {
        assert!(ev
            .insert_event_rule(A, &custom, &rule(A, "custom", name), name)
            .expect("insert"));
    }
    assert!(matches!(
        ev.insert_event_rule(A, &default, &rule(A, "default", "r1"), "again"),
        Err(StoreError::Exists(arn)) if arn == rule(A, "default", "r1")
    ));
    let list = |bus: &str, prefix, after, limit| {
        ev.list_event_rules(bus, prefix, after, limit)
            .expect("list rules")
    };
    assert_eq!(
        list(&default, None, None, 100),
        ["r1", "r2", "r_x", "rzx", "s1"]
    );
    assert_eq!(list(&default, Some("r"), None, 2), ["r1", "r2"]);
    assert_eq!(list(&default, Some("r"), Some("r2"), 2), ["r_x", "rzx"]);
    assert_eq!(
        list(&default, Some("r"), Some("rzx"), 2),
        Vec::<String>::new()
    );
    assert_eq!(list(&default, Some("r_"), None, 100), ["r_x"]);
    assert_eq!(list(&custom, None, None, 100), ["c1", "c2"]);
    assert_eq!(list(&bus(A, "gone"), None, None, 100), Vec::<String>::new());
    // Every rule, in ARN order: `rule/custom/...` before `rule/r1`.
    assert_eq!(
        ev.all_event_rules().expect("all"),
        ["c1", "c2", "r1", "r2", "r_x", "rzx", "s1"]
    );

    assert!(ev
        .delete_event_rule(&rule(A, "default", "s1"))
        .expect("delete"));
    assert!(!ev
        .delete_event_rule(&rule(A, "default", "s1"))
        .expect("deleted"));
    // Scheduled rules' progress goes with their bus.
    assert!(ev
        .claim_schedule_slot(&rule(A, "custom", "c1"), 60_000)
        .expect("claim"));
    assert!(ev
        .claim_schedule_slot(&rule(A, "default", "r1"), 60_000)
        .expect("claim"));
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(
        ev.get_event_rule(&rule(A, "custom", "c2"))
            .expect("get")
            .as_deref(),
        Some("c2")
    );
    assert!(ev.delete_event_bus(&custom).expect("delete bus"));
    assert_eq!(
        ev.get_event_rule(&rule(A, "custom", "c2")).expect("get"),
        None
    );
    assert_eq!(
        ev.last_schedule_slot(&rule(A, "custom", "c1"))
            .expect("last"),
        None
    );
    assert_eq!(
        ev.last_schedule_slot(&rule(A, "default", "r1"))
            .expect("last"),
        Some(60_000),
        "another bus's rules keep theirs"
    );
    assert_eq!(
        ev.all_event_rules().expect("all"),
        ["r1", "r2", "r_x", "rzx"]
    );
    // A bus made again under the name starts with no rules.
    ev.insert_event_bus(A, &custom, "C again").expect("again");
    assert_eq!(
        ev.list_event_rules(&custom, None, None, 100).expect("list"),
        Vec::<String>::new()
    );
}

fn groups_and_schedules_list_by_group_then_name(s: Fixture) {
    let ev = s.events();
    for name in ["default", "a-b", "a", "a_c"] {
        ev.insert_schedule_group(A, &group(A, name), name)
            .expect("group");
    }
    ev.insert_schedule_group(B, &group(B, "default"), "B default")
        .expect("group");
    assert!(matches!(
        ev.insert_schedule_group(A, &group(A, "a"), "again"),
        Err(StoreError::Exists(arn)) if arn == group(A, "a")
    ));
    let groups = |prefix, after, limit| {
        ev.list_schedule_groups(A, prefix, after, limit)
            .expect("list groups")
    };
    assert_eq!(groups(None, None, 100), ["a", "a-b", "a_c", "default"]);
    assert_eq!(groups(Some("a"), Some("a"), 1), ["a-b"]);
    assert_eq!(groups(Some("a_"), None, 100), ["a_c"]);
    assert!(ev.put_schedule_group(&group(A, "a"), "a v2").expect("put"));
    assert!(!ev.put_schedule_group(&group(A, "nope"), "x").expect("put"));

    // No group, no schedule.
    assert!(!ev
        .insert_schedule(A, &group(A, "gone"), &schedule(A, "gone", "s"), "S")
        .expect("insert"));
    assert_eq!(
        ev.get_schedule(&schedule(A, "gone", "s")).expect("get"),
        None
    );
    // By group ARN then name: group `a` (its `z`) before group `a-b`, though the
    // schedule ARN `schedule/a-b/x` sorts before `schedule/a/z`.
    for (g, name) in [("a-b", "x"), ("a", "z"), ("a", "m"), ("default", "d1")] {
        assert!(ev
            .insert_schedule(
                A,
                &group(A, g),
                &schedule(A, g, name),
                &format!("{g}/{name}")
            )
            .expect("insert"));
    }
    assert!(ev
        .insert_schedule(
            B,
            &group(B, "default"),
            &schedule(B, "default", "b1"),
            "B/b1"
        )
        .expect("insert"));
    assert!(matches!(
        ev.insert_schedule(A, &group(A, "a"), &schedule(A, "a", "m"), "again"),
        Err(StoreError::Exists(arn)) if arn == schedule(A, "a", "m")
    ));
    let ga = group(A, "a");
    let gab = group(A, "a-b");
    let schedules = |g: Option<&str>, prefix, after, limit| {
        ev.list_schedules(A, g, prefix, after, limit)
            .expect("list schedules")
    };
    assert_eq!(
        schedules(None, None, None, 100),
        ["a/m", "a/z", "a-b/x", "default/d1"]
    );
    assert_eq!(schedules(None, None, None, 2), ["a/m", "a/z"]);
    assert_eq!(
        schedules(None, None, Some((ga.as_str(), "z")), 2),
        ["a-b/x", "default/d1"]
    );
    assert_eq!(
        schedules(None, None, Some((gab.as_str(), "x")), 2),
        ["default/d1"]
    );
    assert_eq!(schedules(Some(&ga), None, None, 100), ["a/m", "a/z"]);
    assert_eq!(
        schedules(Some(&ga), None, Some((ga.as_str(), "m")), 100),
        ["a/z"]
    );
    assert_eq!(schedules(None, Some("z"), None, 100), ["a/z"]);
    assert_eq!(
        schedules(Some(&gab), Some("z"), None, 100),
        Vec::<String>::new()
    );
    assert_eq!(
        ev.list_schedules(B, None, None, None, 100).expect("list"),
        ["B/b1"]
    );
    // Every schedule, in ARN order.
    assert_eq!(
        ev.all_schedules().expect("all"),
        ["a-b/x", "a/m", "a/z", "default/d1", "B/b1"]
    );
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(
        ev.get_schedule_group(&group(A, "a"))
            .expect("get")
            .as_deref(),
        Some("a v2")
    );
    assert_eq!(
        ev.get_schedule(&schedule(A, "a", "z"))
            .expect("get")
            .as_deref(),
        Some("a/z")
    );
    assert!(ev.delete_schedule(&schedule(A, "a", "z")).expect("delete"));
    assert!(!ev.delete_schedule(&schedule(A, "a", "z")).expect("deleted"));
    assert_eq!(
        ev.list_schedules(A, Some(&ga), None, None, 100)
            .expect("list"),
        ["a/m"]
    );
}

fn deleting_a_group_takes_its_schedules_and_their_progress(s: Fixture) {
    let ev = s.events();
    let g = group(A, "g");
    let keep = group(A, "keep");
    ev.insert_schedule_group(A, &g, "G").expect("group");
    ev.insert_schedule_group(A, &keep, "K").expect("group");
    for name in ["s1", "s2"] {
        assert!(ev
            .insert_schedule(A, &g, &schedule(A, "g", name), name)
            .expect("insert"));
    }
    assert!(ev
        .insert_schedule(A, &keep, &schedule(A, "keep", "k1"), "k1")
        .expect("insert"));
    for arn in [schedule(A, "g", "s1"), schedule(A, "keep", "k1")] {
        assert!(ev.claim_schedule_slot(&arn, 1_000).expect("claim"));
    }
    assert!(ev.delete_schedule_group(&g).expect("delete"));
    assert!(!ev.delete_schedule_group(&g).expect("deleted"));
    assert_eq!(ev.get_schedule_group(&g).expect("get"), None);
    assert_eq!(ev.get_schedule(&schedule(A, "g", "s1")).expect("get"), None);
    assert_eq!(
        ev.last_schedule_slot(&schedule(A, "g", "s1"))
            .expect("last"),
        None
    );
    assert_eq!(
        ev.last_schedule_slot(&schedule(A, "keep", "k1"))
            .expect("last"),
        Some(1_000)
    );
    assert_eq!(ev.all_schedules().expect("all"), ["k1"]);
    assert_eq!(
        ev.list_schedule_groups(A, None, None, 100).expect("list"),
        ["K"]
    );
    // A group made again under the name starts empty, and so do its schedules.
    ev.insert_schedule_group(A, &g, "G again").expect("again");
    assert!(ev
        .insert_schedule(A, &g, &schedule(A, "g", "s1"), "s1 again")
        .expect("insert"));
    assert!(ev
        .claim_schedule_slot(&schedule(A, "g", "s1"), 500)
        .expect("an earlier slot is new to the new schedule"));
}

fn edits_read_and_write_one_record_atomically(s: Fixture) {
    let ev = s.events();
    let b = bus(A, "default");
    let r = rule(A, "default", "r");
    let g = group(A, "default");
    let sc = schedule(A, "default", "s");
    ev.insert_event_bus(A, &b, "B").expect("bus");
    assert!(ev.insert_event_rule(A, &b, &r, "{}").expect("rule"));
    ev.insert_schedule_group(A, &g, "G").expect("group");
    assert!(ev.insert_schedule(A, &g, &sc, "v1").expect("schedule"));

    assert_eq!(
        ev.edit_event_rule(&rule(A, "default", "nope"), Box::new(|_| true))
            .expect("edit"),
        hearth_store::Edited::Missing
    );
    // The closure sees the record as stored; declining writes nothing.
    let mut seen = String::new();
    assert_eq!(
        ev.edit_event_rule(
            &r,
            Box::new(|d| {
                seen = d.clone();
                d.push_str("dropped");
                false
            })
        )
        .expect("edit"),
        hearth_store::Edited::Declined
    );
    assert_eq!(seen, "{}");
    assert_eq!(ev.get_event_rule(&r).expect("get").as_deref(), Some("{}"));
    assert_eq!(
        ev.edit_event_rule(
            &r,
            Box::new(|d| {
                *d = r#"{"Targets":[1]}"#.to_string();
                true
            })
        )
        .expect("edit"),
        hearth_store::Edited::Done(r#"{"Targets":[1]}"#.to_string())
    );
    // The handle's form carries the closure's own refusal.
    let refused = ev
        .update_event_rule(&r, |_| Err::<(), _>("too many targets"))
        .expect("update");
    assert_eq!(refused, Some(Err("too many targets")));
    let done = ev
        .update_event_rule(&r, |d| {
            d.push('!');
            Ok::<(), &str>(())
        })
        .expect("update");
    assert_eq!(done, Some(Ok(r#"{"Targets":[1]}!"#.to_string())));
    assert_eq!(
        ev.update_event_rule(&rule(A, "default", "nope"), |_| Ok::<(), &str>(()))
            .expect("update"),
        None
    );

    assert_eq!(
        ev.edit_schedule(&schedule(A, "default", "nope"), Box::new(|_| true))
            .expect("edit"),
        hearth_store::Edited::Missing
    );
    assert_eq!(
        ev.edit_schedule(&sc, Box::new(|_| false)).expect("edit"),
        hearth_store::Edited::Declined
    );
    assert_eq!(
        ev.update_schedule(&sc, |d| {
            d.push_str("+v2");
            Ok::<(), ()>(())
        })
        .expect("update"),
        Some(Ok("v1+v2".to_string()))
    );
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(
        ev.get_event_rule(&r).expect("get").as_deref(),
        Some(r#"{"Targets":[1]}!"#)
    );
    assert_eq!(ev.get_schedule(&sc).expect("get").as_deref(), Some("v1+v2"));
}

/// Nodes (stores of their own on the same state) appending to one record at once: no
/// append is lost.
fn edits_by_racing_nodes_all_land(s: Fixture) {
    const NODES: usize = 3;
    const EDITS: usize = 15;
    let ev = s.events();
    let b = bus(A, "default");
    let r = rule(A, "default", "r");
    let g = group(A, "default");
    let sc = schedule(A, "default", "s");
    ev.insert_event_bus(A, &b, "B").expect("bus");
    assert!(ev.insert_event_rule(A, &b, &r, "").expect("rule"));
    ev.insert_schedule_group(A, &g, "G").expect("group");
    assert!(ev.insert_schedule(A, &g, &sc, "").expect("schedule"));
    let nodes: Vec<Store> = (0..NODES).map(|_| s.another()).collect();
    std::thread::scope(|scope| {
        for (i, node) in nodes.iter().enumerate() {
            let (r, sc) = (&r, &sc);
            scope.spawn(move || {
                let mark = char::from(b'a' + u8::try_from(i).expect("few nodes"));
                for _ in 0..EDITS {
                    let append = |d: &mut String| {
                        d.push(mark);
                        true
                    };
                    let done = node
                        .events()
                        .edit_event_rule(r, Box::new(append))
                        .expect("edit rule");
                    assert!(matches!(done, hearth_store::Edited::Done(_)));
                    let done = node
                        .events()
                        .edit_schedule(sc, Box::new(append))
                        .expect("edit schedule");
                    assert!(matches!(done, hearth_store::Edited::Done(_)));
                }
            });
        }
    });
    for record in [
        ev.get_event_rule(&r).expect("get"),
        ev.get_schedule(&sc).expect("get"),
    ] {
        let record = record.expect("still there");
        assert_eq!(record.len(), NODES * EDITS, "{record}");
        for i in 0..NODES {
            let mark = char::from(b'a' + u8::try_from(i).expect("few nodes"));
            assert_eq!(record.chars().filter(|c| *c == mark).count(), EDITS);
        }
    }
}

fn a_slot_is_claimed_once_and_only_while_its_owner_exists(s: Fixture) {
    let ev = s.events();
    let b = bus(A, "default");
    let r = rule(A, "default", "every-minute");
    let g = group(A, "default");
    let sc = schedule(A, "default", "hourly");
    // Nothing of that ARN: nothing fires, nothing is recorded.
    assert!(!ev.claim_schedule_slot(&r, 60_000).expect("claim"));
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), None);
    ev.insert_event_bus(A, &b, "B").expect("bus");
    assert!(ev.insert_event_rule(A, &b, &r, "R").expect("rule"));
    ev.insert_schedule_group(A, &g, "G").expect("group");
    assert!(ev.insert_schedule(A, &g, &sc, "S").expect("schedule"));

    assert!(ev.claim_schedule_slot(&r, 60_000).expect("claim"));
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), Some(60_000));
    assert!(!ev.claim_schedule_slot(&r, 60_000).expect("again"));
    assert!(!ev.claim_schedule_slot(&r, 0).expect("earlier"));
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), Some(60_000));
    let other = s.another();
    assert!(!other
        .events()
        .claim_schedule_slot(&r, 60_000)
        .expect("another node, the same slot"));
    assert!(other
        .events()
        .claim_schedule_slot(&r, 120_000)
        .expect("another node, the next slot"));
    // Progress is per ARN; negative times (before 1970) are slots too.
    assert_eq!(ev.last_schedule_slot(&sc).expect("last"), None);
    assert!(ev.claim_schedule_slot(&sc, -3_600_000).expect("claim"));
    assert!(ev.claim_schedule_slot(&sc, 3_600_000).expect("claim"));
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), Some(120_000));
    assert!(!ev
        .claim_schedule_slot(&r, 120_000)
        .expect("after a restart"));
    assert_eq!(ev.last_schedule_slot(&sc).expect("last"), Some(3_600_000));
    // Deleted: the progress goes, and no node fires it again.
    assert!(ev.delete_event_rule(&r).expect("delete"));
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), None);
    assert!(!ev.claim_schedule_slot(&r, 180_000).expect("claim"));
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), None);
    assert!(ev.delete_schedule(&sc).expect("delete"));
    assert_eq!(ev.last_schedule_slot(&sc).expect("last"), None);
    assert!(!ev.claim_schedule_slot(&sc, 7_200_000).expect("claim"));
}

/// Nodes claiming each slot at the same moment: exactly one of them fires it.
fn racing_nodes_claim_each_slot_exactly_once(s: Fixture) {
    const NODES: usize = 4;
    const SLOTS: i64 = 25;
    let g = group(A, "default");
    let sc = schedule(A, "default", "s");
    s.events().insert_schedule_group(A, &g, "G").expect("group");
    assert!(s
        .events()
        .insert_schedule(A, &g, &sc, "S")
        .expect("schedule"));
    let nodes: Vec<Store> = (0..NODES).map(|_| s.another()).collect();
    let barrier = Barrier::new(NODES);
    let wins: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (barrier, sc) = (&barrier, &sc);
                scope.spawn(move || {
                    let mut won = Vec::new();
                    for slot in 1..=SLOTS {
                        barrier.wait();
                        if node
                            .events()
                            .claim_schedule_slot(sc, slot * 60_000)
                            .expect("claim")
                        {
                            won.push(slot);
                        }
                    }
                    won
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a claiming node"))
            .collect()
    });
    let mut all: Vec<i64> = wins.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=SLOTS).collect::<Vec<_>>());
    assert_eq!(
        s.events().last_schedule_slot(&sc).expect("last"),
        Some(SLOTS * 60_000)
    );
}

fn row(id: &str, due_ms: i64) -> EventDelivery {
    EventDelivery {
        id: id.into(),
        due_ms,
        attempts: 0,
        data: format!("data {id}"),
    }
}

fn ids(rows: &[EventDelivery]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

fn a_fired_slot_queues_its_deliveries_with_the_claim(s: Fixture) {
    let ev = s.events();
    let b = bus(A, "default");
    let r = rule(A, "default", "cron");
    ev.insert_event_bus(A, &b, "B").expect("bus");
    // No rule: no claim, nothing queued.
    assert!(!ev
        .fire_schedule_slot(&r, 60_000, &[row("gone", 0)])
        .expect("fire"));
    assert!(ev.insert_event_rule(A, &b, &r, "R").expect("rule"));
    assert!(ev
        .fire_schedule_slot(&r, 60_000, &[row("x", 0), row("y", 0)])
        .expect("fire"));
    // The same slot again (another node, a restart): nothing more is queued.
    assert!(!s
        .another()
        .events()
        .fire_schedule_slot(&r, 60_000, &[row("z", 0)])
        .expect("again"));
    let queued = ev.claim_event_deliveries("n", 100, 50, 10).expect("claim");
    assert_eq!(ids(&queued), ["x", "y"]);
    assert_eq!(ev.last_schedule_slot(&r).expect("last"), Some(60_000));
}

fn a_node_started_again_frees_what_it_held(s: Fixture) {
    let ev = s.events();
    ev.add_event_deliveries(&[row("a", 10), row("b", 10), row("c", 10)])
        .expect("add");
    assert_eq!(
        ids(&ev
            .claim_event_deliveries("n1", 100, 60_000, 2)
            .expect("claim")),
        ["a", "b"]
    );
    assert_eq!(
        ids(&ev
            .claim_event_deliveries("n2", 100, 60_000, 1)
            .expect("claim")),
        ["c"]
    );
    // n1 was killed and starts again: its rows are free, n2's stay held.
    let s = s.reopen();
    let ev = s.events();
    assert_eq!(ev.release_event_deliveries("n1").expect("release"), 2);
    assert_eq!(
        ids(&ev
            .claim_event_deliveries("n1", 200, 60_000, 10)
            .expect("claim")),
        ["a", "b"]
    );
    assert_eq!(ev.release_event_deliveries("nobody").expect("release"), 0);
}

fn deliveries_are_claimed_once_and_held(s: Fixture) {
    let ev = s.events();
    ev.add_event_deliveries(&[row("a", 10), row("b", 20), row("c", 1_000)])
        .expect("add");
    // An id already queued is kept as it is.
    ev.add_event_deliveries(&[row("a", 5), row("d", 2_000)])
        .expect("add");
    ev.add_event_deliveries(&[]).expect("nothing");
    let other = s.another();
    let first = ev.claim_event_deliveries("n1", 100, 50, 1).expect("claim");
    assert_eq!(first, [row("a", 10)]);
    let second = other
        .events()
        .claim_event_deliveries("n2", 100, 50, 10)
        .expect("claim");
    assert_eq!(ids(&second), ["b"]);
    assert!(ev
        .claim_event_deliveries("n1", 149, 50, 10)
        .expect("claim")
        .is_empty());
    ev.finish_event_delivery("a").expect("finish");
    ev.finish_event_delivery("a")
        .expect("finishing twice is harmless");
    ev.retry_event_delivery("b", 130, 3).expect("retry");
    let s = s.reopen();
    let ev = s.events();
    let again = ev.claim_event_deliveries("n3", 140, 50, 10).expect("claim");
    assert_eq!(
        again,
        [EventDelivery {
            attempts: 3,
            due_ms: 130,
            ..row("b", 0)
        }]
    );
    // n3 died: its hold ends, and another node takes the row.
    assert!(ev
        .claim_event_deliveries("n4", 189, 50, 10)
        .expect("claim")
        .is_empty());
    let later = ev.claim_event_deliveries("n4", 190, 50, 10).expect("claim");
    assert_eq!(ids(&later), ["b"]);
    // Soonest due first: b (whose hold ended too), then c; d is not due.
    let all = ev
        .claim_event_deliveries("n5", 1_999, 50, 10)
        .expect("claim");
    assert_eq!(ids(&all), ["b", "c"]);
    let last = ev
        .claim_event_deliveries("n5", 2_000, 50, 10)
        .expect("claim");
    assert_eq!(last, [row("d", 2_000)]);
}

/// Nodes claiming from one queue at once: every row goes to exactly one of them.
fn racing_claimers_get_distinct_deliveries(s: Fixture) {
    const NODES: usize = 4;
    const ROWS: usize = 60;
    let rows: Vec<EventDelivery> = (0..ROWS)
        .map(|i| row(&format!("id-{i:03}"), i64::try_from(i % 7).expect("small")))
        .collect();
    s.events().add_event_deliveries(&rows).expect("add");
    let nodes: Vec<Store> = (0..NODES).map(|_| s.another()).collect();
    let barrier = Barrier::new(NODES);
    let claimed: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut got = Vec::new();
                    loop {
                        let batch = node
                            .events()
                            .claim_event_deliveries(&format!("n{i}"), 100, 1_000, 4)
                            .expect("claim");
                        if batch.is_empty() {
                            return got;
                        }
                        got.extend(batch.into_iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a claiming node"))
            .collect()
    });
    let mut all: Vec<String> = claimed.into_iter().flatten().collect();
    assert_eq!(all.len(), ROWS, "no row claimed twice");
    all.sort();
    let mut expected: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    expected.sort();
    assert_eq!(all, expected);
}
