//! Log groups as listed right after an invocation: the invocation's lines were handed to
//! the store's writer before its answer, so a listing made after the answer must see the
//! group its first invocation made, not race the writer's next commit (which waits a
//! few milliseconds to gather others).

#[allow(dead_code)]
mod fixture;

use std::time::Duration;

use fixture::{config, Fixture};
use hearth_sandbox::scripted::Script;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_invocation_makes_its_group_visible_at_once() {
    let fx = Fixture::new(Script::default(), config(Duration::from_secs(600)));
    for name in ["first", "second", "third"] {
        fx.create(name, 3, &[]).await;
        fx.invoke(name, "1").await.ok();
        let groups = fx.engine.log_groups().await.expect("log groups");
        assert!(
            groups.iter().any(|g| g.function == name),
            "{name} is not among {:?}",
            groups.iter().map(|g| &g.function).collect::<Vec<_>>()
        );
    }
}
