//! The web console's sign-outs (`ConsoleStore`): a signed-out session is refused until
//! its own expiry, by this store and by another open on the same state (another node of
//! a fleet, or another process on the same data directory).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::backend::Fixture;

each_backend!(
    a_signed_out_session_is_ended_and_no_other,
    a_sign_out_lapses_at_the_sessions_expiry,
    another_store_on_the_same_state_sees_a_sign_out
);

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch");
    i64::try_from(since.as_millis()).expect("ms fit")
}

/// An expiry an hour from now.
fn later() -> i64 {
    now_ms() + 3_600_000
}

fn a_signed_out_session_is_ended_and_no_other(s: Fixture) {
    let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(id.len(), 64, "the longest id a session has");
    assert!(!s.console().console_session_ended(id).expect("read"));
    s.console().end_console_session(id, later()).expect("end");
    assert!(s.console().console_session_ended(id).expect("read"));
    assert!(!s.console().console_session_ended("other").expect("read"));
    // Ending it again is no error and changes nothing.
    s.console().end_console_session(id, later()).expect("again");
    assert!(s.console().console_session_ended(id).expect("read"));
    // Nor does a repeat with an earlier time cut the refusal short.
    s.console().end_console_session(id, 1).expect("earlier");
    assert!(s.console().console_session_ended(id).expect("read"));
    // A sign-out outlives a restart.
    let s = s.reopen();
    assert!(s.console().console_session_ended(id).expect("read"));
}

fn a_sign_out_lapses_at_the_sessions_expiry(s: Fixture) {
    // A session that had already expired: nothing to refuse.
    s.console().end_console_session("past", 1).expect("end");
    assert!(!s.console().console_session_ended("past").expect("read"));
    // Another sign-out removes its record; it stays not ended.
    s.console()
        .end_console_session("now", later())
        .expect("end");
    assert!(!s.console().console_session_ended("past").expect("read"));
    assert!(s.console().console_session_ended("now").expect("read"));
    // Once removed, ending it again (a session of that id still live) counts afresh.
    s.console()
        .end_console_session("past", later())
        .expect("again");
    assert!(s.console().console_session_ended("past").expect("read"));
    // A sign-out is refused until its time, then not.
    s.console()
        .end_console_session("soon", now_ms() + 300)
        .expect("end");
    assert!(s.console().console_session_ended("soon").expect("read"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.console().console_session_ended("soon").expect("read") {
        assert!(Instant::now() < deadline, "the sign-out never lapsed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(s.console().console_session_ended("now").expect("read"));
}

fn another_store_on_the_same_state_sees_a_sign_out(a: Fixture) {
    let b = a.another();
    assert!(!b.console().console_session_ended("s1").expect("read"));
    a.console().end_console_session("s1", later()).expect("end");
    assert!(b.console().console_session_ended("s1").expect("read"));
    b.console().end_console_session("s2", later()).expect("end");
    assert!(a.console().console_session_ended("s2").expect("read"));
    assert!(!a.console().console_session_ended("s3").expect("read"));
    // A node of its own (with its own cache), where the backend has nodes.
    if let Some(c) = a.another_node() {
        assert!(c.console().console_session_ended("s1").expect("read"));
        assert!(c.console().console_session_ended("s2").expect("read"));
    }
}
