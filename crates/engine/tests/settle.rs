//! Settling a created function when the store refuses to record the outcome for a
//! while: the function must not stay `Pending` until the next start.

use std::time::Duration;

use hearth_engine::testing;
use hearth_model::State;
use hearth_sandbox::scripted::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_outcome_is_recorded_once_the_store_takes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, _path, _records) = testing::scripted(
        dir.path(),
        Script::default(),
        testing::config(Duration::from_secs(60)),
    );
    // Every update of a function record fails while this trigger is there (creating
    // one inserts it; recording its settled state updates it).
    let db = rusqlite::Connection::open(dir.path().join("data/hearth.db")).expect("database");
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE UPDATE ON functions
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .expect("trigger");
    engine
        .create_function(testing::new_function("f"))
        .await
        .expect("create the function");
    // Settling takes milliseconds here; its first record was refused by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let f = engine.get_function(&testing::fref("f")).expect("get");
    assert_eq!(f.state, State::Pending, "the trigger refused the record");
    db.execute_batch("DROP TRIGGER refuse")
        .expect("drop the trigger");
    testing::settled(&engine, "f").await;
}
