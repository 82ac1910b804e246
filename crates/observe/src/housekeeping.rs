//! The server's metric housekeeping, on every node: each second a sample of this node's
//! concurrency (the `ConcurrentExecutions` family of `AWS/Lambda` metrics); every ten
//! seconds, and when the server stops, the environments' use of the host and the
//! provisioned concurrency configured are sampled, what the observatory counted goes to
//! CloudWatch's recorder (with the metrics of the functions' EMF lines it held) and the
//! metering rows to the store, and the recorder to the store (with the `AWS/SQS` counts of
//! the calls SQS handled). Once a minute, under the store's `metrics` lease (so once per
//! fleet), old points are rolled up and metering past its retention deleted; and, on the
//! node that serves SQS (one per fleet: queues' state is in its memory alone, so the
//! lease holder could not read it without a call to that node), the depths of active
//! queues are sampled.

use std::sync::Arc;
use std::time::Duration;

use hearth_engine::observe::Concurrency;
use hearth_engine::Engine;
use hearth_metrics::alarm_evaluator::AlarmActions;
use hearth_metrics::{CloudWatch, Recorder, Unit};
use hearth_model::arn::key_parts;
use tokio::sync::watch;

use crate::{Observatory, NAMESPACE};

/// The lease the once-per-fleet work runs under.
const LEASE: &str = "metrics";
const LEASE_TTL: Duration = Duration::from_secs(180);
/// How often counts go to the store.
const FLUSH_EVERY_S: u64 = 10;
/// How often the leased work runs by default (alarms are evaluated once a minute, as on
/// AWS).
pub const EVALUATE_EVERY: Duration = Duration::from_secs(60);
/// Metering is kept this long (as CloudWatch's hourly points).
const METERING_DAYS: i64 = 455;

/// The housekeeping's parts.
pub struct Housekeeping {
    pub observatory: Arc<Observatory>,
    pub cloudwatch: CloudWatch,
    pub engine: Engine,
    /// This node's id in the fleet (the lease holder's name).
    pub node: String,
    /// Where alarms' actions go.
    pub alarm_actions: Arc<dyn AlarmActions>,
    /// How often alarms are evaluated and points rolled up ([`EVALUATE_EVERY`]).
    pub evaluate_every: Duration,
    /// Whether the environments' use of the host and provisioned time are sampled into
    /// metering (off with the server's metrics, when the observatory counts nothing).
    pub metering: bool,
    /// The queue service whose `AWS/SQS` metrics are published, if any.
    pub sqs: Option<hearth_sqs::Sqs>,
}

/// The running housekeeping; [`Running::stop`] flushes one last time.
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    parts: Arc<Housekeeping>,
}

/// Flushes the counts now (blocking: call it off the async workers), so that a read
/// right after an invocation sees it.
pub type FlushNow = Arc<dyn Fn() + Send + Sync>;

impl Running {
    /// What flushes now (see [`FlushNow`]).
    pub fn flush_now(&self) -> FlushNow {
        let parts = self.parts.clone();
        Arc::new(move || parts.flush())
    }

    /// Stops the loop after a last flush (waiting at most `grace`).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, self.task).await;
    }
}

impl Housekeeping {
    /// Starts the loop on the current runtime.
    pub fn start(self) -> Running {
        let (stop, stopped) = watch::channel(false);
        let parts = Arc::new(self);
        let task = tokio::spawn(parts.clone().run(stopped));
        Running { stop, task, parts }
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let me = self;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut n: u64 = 0;
        let mut evaluated = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => break,
            }
            n += 1;
            let now = me.cloudwatch.now_ms();
            sample(&me.engine.concurrency(), me.cloudwatch.recorder(), now);
            if n.is_multiple_of(FLUSH_EVERY_S) {
                me.flush_off_thread().await;
            }
            if evaluated.elapsed() >= me.evaluate_every {
                evaluated = tokio::time::Instant::now();
                me.sample_queues(now);
                let m = me.clone();
                let _ = tokio::task::spawn_blocking(move || m.leased_work()).await;
            }
        }
        me.flush_off_thread().await;
        let m = me.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = m.engine.store().fleet().release_lease(LEASE, &m.node);
        })
        .await;
    }

    async fn flush_off_thread(self: &Arc<Self>) {
        let me = self.clone();
        let _ = tokio::task::spawn_blocking(move || me.flush()).await;
    }

    /// Hands the observatory's counts to CloudWatch and the store, after sampling what
    /// the environments used of the host and the provisioned concurrency configured.
    pub fn flush(&self) {
        if self.metering {
            let now = std::time::Instant::now();
            self.observatory.count_use(
                &self.engine.sample_host_use(now),
                &self.engine.provisioned_versions(),
                now,
                self.cloudwatch.now_ms(),
            );
        }
        let rows = self.observatory.flush(self.cloudwatch.recorder().as_ref());
        if let Some(sqs) = &self.sqs {
            let now = self.cloudwatch.now_ms();
            crate::publish_activity(&sqs.take_activity(), self.cloudwatch.recorder(), now);
        }
        self.observatory.flush_emf(&self.cloudwatch);
        if !rows.is_empty() {
            if let Err(e) = self.engine.store().metrics().add_metering(&rows) {
                tracing::warn!(error = %e, rows = rows.len(), "cannot write metering; these counts are lost");
            }
        }
        if let Err(e) = self.cloudwatch.flush() {
            tracing::warn!(error = %e, "cannot write metric points; they wait for the next flush");
        }
    }

    /// One sample of the active queues' depths, where SQS is served.
    fn sample_queues(&self, now_ms: i64) {
        if let Some(sqs) = self.sqs.as_ref().filter(|s| s.serves_here()) {
            crate::publish_depths(&sqs.depths(now_ms), self.cloudwatch.recorder(), now_ms);
        }
    }

    /// What one node of the fleet does: alarms, rollups and retention (on a blocking
    /// thread: the store's calls block).
    fn leased_work(&self) {
        let store = self.engine.store();
        match store.fleet().acquire_lease(LEASE, &self.node, LEASE_TTL) {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the metrics lease");
                return;
            }
        }
        let now = self.cloudwatch.now_ms();
        // The alarms read what was counted until now.
        self.flush();
        let cw = &self.cloudwatch;
        let report = tokio::runtime::Handle::current().block_on(cw.evaluate_alarms(
            now,
            cw,
            self.alarm_actions.as_ref(),
        ));
        match report {
            Ok(r) if r.failed_actions > 0 => {
                tracing::warn!(report = ?r, "some alarm actions failed (see the alarms' history)")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot evaluate the alarms"),
        }
        if let Err(e) = self.cloudwatch.roll_up(now) {
            tracing::warn!(error = %e, "cannot roll up metric points");
        }
        let before_day = now.div_euclid(86_400_000) - METERING_DAYS;
        if let Err(e) = store.metrics().delete_metering_before(before_day) {
            tracing::warn!(error = %e, "cannot delete old metering");
        }
    }
}

/// Records one second's sample of `c` at `now_ms`: per account `ConcurrentExecutions`,
/// `UnreservedConcurrentExecutions` and `ClaimedAccountConcurrency` (reserved
/// concurrency, plus provisioned allocations of functions without a reservation, plus
/// the unreserved concurrency in use), per function `ConcurrentExecutions`, and per
/// provisioned allocation `ProvisionedConcurrentExecutions` and
/// `ProvisionedConcurrencyUtilization` (busy over allocated).
pub(crate) fn sample(c: &Concurrency, recorder: &Recorder, now_ms: i64) {
    #[derive(Default)]
    struct Account {
        busy: i64,
        unreserved_busy: i64,
        claimed: i64,
    }
    let mut accounts: std::collections::BTreeMap<&str, Account> = Default::default();
    accounts.entry(hearth_model::arn::ACCOUNT).or_default();
    let record = |account: &str, name: &str, dims: &[(&str, &str)], unit: Unit, v: f64| {
        recorder.record(account, NAMESPACE, name, dims, unit, now_ms, v);
    };
    for f in &c.functions {
        let (account, name) = key_parts(&f.function);
        let a = accounts.entry(account).or_default();
        a.busy += f.busy;
        match f.reserved {
            Some(r) => a.claimed += r,
            None => a.unreserved_busy += f.busy,
        }
        if f.busy > 0 {
            let dims = [("FunctionName", name)];
            record(
                account,
                "ConcurrentExecutions",
                &dims,
                Unit::COUNT,
                f.busy as f64,
            );
        }
    }
    for p in &c.provisioned {
        let (account, name) = key_parts(&p.function);
        let reserved = c
            .functions
            .iter()
            .any(|f| f.function == p.function && f.reserved.is_some());
        let a = accounts.entry(account).or_default();
        if !reserved {
            a.claimed += p.allocated;
            // Its busy environments are within the allocation already counted.
            a.unreserved_busy -= p.busy.min(a.unreserved_busy);
        }
        let resource = format!("{name}:{}", p.qualifier);
        let dims = [("FunctionName", name), ("Resource", resource.as_str())];
        record(
            account,
            "ProvisionedConcurrentExecutions",
            &dims,
            Unit::COUNT,
            p.busy as f64,
        );
        if p.allocated > 0 {
            let used = p.busy as f64 / p.allocated as f64;
            record(
                account,
                "ProvisionedConcurrencyUtilization",
                &dims,
                Unit::NONE,
                used,
            );
        }
    }
    for (account, a) in accounts {
        record(
            account,
            "ConcurrentExecutions",
            &[],
            Unit::COUNT,
            a.busy as f64,
        );
        record(
            account,
            "UnreservedConcurrentExecutions",
            &[],
            Unit::COUNT,
            a.unreserved_busy as f64,
        );
        let claimed = a.claimed + a.unreserved_busy;
        record(
            account,
            "ClaimedAccountConcurrency",
            &[],
            Unit::COUNT,
            claimed as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use hearth_engine::observe::{FunctionConcurrency, ProvisionedConcurrency};
    use hearth_metrics::point::PointStats;

    use super::*;

    /// A drained series: its name, its dimensions and the largest value recorded.
    type Drained = (String, Vec<(String, String)>, f64);

    /// Every series the recorder drained.
    fn drained(r: &Recorder) -> Vec<Drained> {
        let (series, points) = r.drain();
        let mut out: Vec<_> = points
            .iter()
            .map(|p| {
                let s = series.iter().find(|s| s.id == p.series).expect("series");
                let stats = PointStats::decode(&p.stats).expect("stats");
                let max = stats
                    .by_unit
                    .iter()
                    .map(|(_, st)| st.max)
                    .fold(f64::MIN, f64::max);
                (s.name.clone(), s.dimensions.clone(), max)
            })
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    fn d(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_sample_gives_each_concurrency_metric() {
        let c = Concurrency {
            functions: vec![
                FunctionConcurrency {
                    function: "a".into(),
                    busy: 3,
                    reserved: None,
                },
                FunctionConcurrency {
                    function: "b".into(),
                    busy: 1,
                    reserved: Some(10),
                },
                FunctionConcurrency {
                    function: "p".into(),
                    busy: 2,
                    reserved: None,
                },
            ],
            provisioned: vec![ProvisionedConcurrency {
                function: "p".into(),
                qualifier: "live".into(),
                allocated: 4,
                busy: 2,
            }],
        };
        let r = Recorder::new();
        sample(&c, &r, 60_000);
        assert_eq!(
            drained(&r),
            vec![
                ("ClaimedAccountConcurrency".into(), d(&[]), 10.0 + 4.0 + 3.0),
                ("ConcurrentExecutions".into(), d(&[]), 6.0),
                (
                    "ConcurrentExecutions".into(),
                    d(&[("FunctionName", "a")]),
                    3.0
                ),
                (
                    "ConcurrentExecutions".into(),
                    d(&[("FunctionName", "b")]),
                    1.0
                ),
                (
                    "ConcurrentExecutions".into(),
                    d(&[("FunctionName", "p")]),
                    2.0
                ),
                (
                    "ProvisionedConcurrencyUtilization".into(),
                    d(&[("FunctionName", "p"), ("Resource", "p:live")]),
                    0.5
                ),
                (
                    "ProvisionedConcurrentExecutions".into(),
                    d(&[("FunctionName", "p"), ("Resource", "p:live")]),
                    2.0
                ),
                ("UnreservedConcurrentExecutions".into(), d(&[]), 3.0),
            ]
        );
    }
}
