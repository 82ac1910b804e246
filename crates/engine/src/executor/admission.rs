//! Concurrency and admission: an invocation runs only while it holds a [`Permit`],
//! which counts it against its function's reserved concurrency, or against its
//! account's unreserved pool (the account limit minus everything reserved in that
//! account). Each account has its own limit, as on AWS: one tenant's load or
//! reservations never throttle another's functions.
//!
//! Concurrency is environments busy with an invocation, cold start included, as
//! Lambda counts it; idle environments (warm or provisioned) count for nothing.
//!
//! In a fleet (a shared store) a node also needs a token of the limit's scope for each
//! invocation it admits, from the tokens it holds in the store ([`tokens`]): the limits
//! then hold for the fleet, not per node. On the embedded store there are no tokens and
//! admission is the in-memory count alone.

mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use hearth_model::arn::key_account;
use hearth_model::limits::UNRESERVED_MIN;
use hearth_model::FastMap;

use crate::error::{EngineError, Throttle};
pub(crate) use tokens::FleetTokens;
use tokens::{Fleet, Holding, Scope};

/// Functions are keyed by `hearth_model::arn::function_key`, which carries the account.
#[derive(Default)]
struct State {
    reserved: FastMap<String, i64>,
    /// Per account, the sum of its functions' reservations.
    reserved_total: FastMap<String, i64>,
    /// Busy environments per function, reserved or not.
    busy: FastMap<String, i64>,
    /// Per account, busy environments drawing on its unreserved pool.
    unreserved_busy: FastMap<String, i64>,
    /// In a fleet, the tokens this node holds, per scope.
    holdings: FastMap<Scope, Holding>,
}

impl State {
    fn reserved_in(&self, account: &str) -> i64 {
        self.reserved_total.get(account).copied().unwrap_or(0)
    }

    /// Replaces every reservation (as read from the store).
    fn set_all_reserved(&mut self, reserved: impl IntoIterator<Item = (String, i64)>) {
        self.reserved.clear();
        self.reserved_total.clear();
        for (f, r) in reserved {
            *self
                .reserved_total
                .entry(key_account(&f).to_string())
                .or_default() += r;
            self.reserved.insert(f, r);
        }
    }
}

pub(crate) struct Admission {
    limit: i64,
    state: Mutex<State>,
    /// Set when the node joins a fleet on a shared store.
    fleet: OnceLock<Fleet>,
}

/// Why [`Admission::try_admit`] admitted nothing.
enum Refused {
    Throttled(Throttle),
    /// The limit leaves room but this node holds no token for it: ask the store.
    Short(Scope, Throttle),
}

/// One admitted invocation; dropping it frees its slot.
pub(crate) struct Permit {
    admission: Arc<Admission>,
    function: String,
    unreserved: bool,
}

impl Admission {
    pub(crate) fn new(limit: i64, reserved: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut state = State::default();
        state.set_all_reserved(reserved);
        Self {
            limit,
            state: Mutex::new(state),
            fleet: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Each account's limit.
    pub(crate) fn limit(&self) -> i64 {
        self.limit
    }

    /// `account`'s limit minus its reservations.
    pub(crate) fn unreserved_limit(&self, account: &str) -> i64 {
        self.limit - self.lock().reserved_in(account)
    }

    pub(crate) fn reserved(&self, function: &str) -> Option<i64> {
        self.lock().reserved.get(function).copied()
    }

    /// Every reservation, per function key.
    pub(crate) fn all_reserved(&self) -> Vec<(String, i64)> {
        let state = self.lock();
        state
            .reserved
            .iter()
            .map(|(f, r)| (f.clone(), *r))
            .collect()
    }

    /// Environments busy with an invocation, server-wide.
    pub(crate) fn busy(&self) -> i64 {
        self.lock().busy.values().sum()
    }

    /// Environments busy with an invocation, per function.
    pub(crate) fn busy_by_function(&self) -> HashMap<String, i64> {
        self.lock()
            .busy
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Admits one invocation of `function`, or throttles it with Lambda's reason. In a
    /// fleet, a node short of tokens asks the store for more first (one round trip,
    /// shared by the invocations waiting with it); a node that holds enough does not.
    pub(crate) async fn admit(self: &Arc<Self>, function: &str) -> Result<Permit, EngineError> {
        match self.try_admit(function) {
            Ok(p) => Ok(p),
            Err(Refused::Throttled(t)) => Err(EngineError::Throttled(t)),
            Err(Refused::Short(scope, t)) => self.admit_with_more_tokens(function, scope, t).await,
        }
    }

    /// Admits against what this node has now, without the store.
    fn try_admit(self: &Arc<Self>, function: &str) -> Result<Permit, Refused> {
        let mut s = self.lock();
        let account = key_account(function);
        let busy = s.busy.get(function).copied().unwrap_or(0);
        let pool_busy = s.unreserved_busy.get(account).copied().unwrap_or(0);
        let unreserved = match s.reserved.get(function) {
            Some(&r) if busy >= r => return Err(Refused::Throttled(Throttle::ReservedConcurrency)),
            Some(_) => false,
            None if pool_busy >= self.limit - s.reserved_in(account) => {
                return Err(Refused::Throttled(Throttle::AccountConcurrency))
            }
            None => true,
        };
        if let Some(fleet) = self.fleet.get() {
            let (scope, in_use, throttle) = if unreserved {
                (
                    Scope::Unreserved(account.to_string()),
                    pool_busy,
                    Throttle::AccountConcurrency,
                )
            } else {
                (
                    Scope::Reserved(function.to_string()),
                    busy,
                    Throttle::ReservedConcurrency,
                )
            };
            if !fleet.admits() {
                return Err(Refused::Throttled(throttle));
            }
            match s.holdings.get_mut(&scope) {
                Some(h) if h.usable(in_use) => h.used(in_use + 1),
                _ => return Err(Refused::Short(scope, throttle)),
            }
        }
        *s.busy.entry(function.to_string()).or_default() += 1;
        if unreserved {
            *s.unreserved_busy.entry(account.to_string()).or_default() += 1;
        }
        Ok(Permit {
            admission: self.clone(),
            function: function.to_string(),
            unreserved,
        })
    }

    /// Invocations of `function` busy now, or of `account`'s unreserved pool: what a
    /// scope's tokens are in use for.
    fn in_use(s: &State, scope: &Scope) -> i64 {
        match scope {
            Scope::Reserved(f) => s.busy.get(f).copied().unwrap_or(0),
            Scope::Unreserved(a) => s.unreserved_busy.get(a).copied().unwrap_or(0),
        }
    }

    /// A scope's limit as this node knows it (0 for a reservation that is gone).
    fn scope_limit(&self, s: &State, scope: &Scope) -> i64 {
        match scope {
            Scope::Reserved(f) => s.reserved.get(f).copied().unwrap_or(0),
            Scope::Unreserved(a) => (self.limit - s.reserved_in(a)).max(0),
        }
    }

    /// Checks that reserving `want` for `function` leaves the unreserved minimum.
    pub(crate) fn check_reservation(&self, function: &str, want: i64) -> Result<(), EngineError> {
        let s = self.lock();
        let others =
            s.reserved_in(key_account(function)) - s.reserved.get(function).copied().unwrap_or(0);
        if self.limit - others - want < UNRESERVED_MIN {
            return Err(EngineError::InvalidWithoutType(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_MIN}]."
            )));
        }
        Ok(())
    }

    /// Records a reservation (or its removal with `None`). Invocations in flight keep
    /// the slot they were admitted with.
    pub(crate) fn set_reserved(&self, function: &str, reserved: Option<i64>) {
        let mut s = self.lock();
        let old = match reserved {
            Some(r) => s.reserved.insert(function.to_string(), r),
            None => s.reserved.remove(function),
        };
        *s.reserved_total
            .entry(key_account(function).to_string())
            .or_default() += reserved.unwrap_or(0) - old.unwrap_or(0);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.admission.lock();
        if let Some(n) = s.busy.get_mut(&self.function) {
            *n -= 1;
            if *n <= 0 {
                s.busy.remove(&self.function);
            }
        }
        if self.unreserved {
            if let Some(n) = s.unreserved_busy.get_mut(key_account(&self.function)) {
                *n -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Admission {
        /// Admission on one node, where nothing waits for the store.
        fn admit_now(self: &Arc<Self>, function: &str) -> Result<Permit, EngineError> {
            self.try_admit(function).map_err(|r| match r {
                Refused::Throttled(t) | Refused::Short(_, t) => EngineError::Throttled(t),
            })
        }
    }

    fn reason(r: Result<Permit, EngineError>) -> Option<&'static str> {
        match r.err()? {
            EngineError::Throttled(Throttle::ReservedConcurrency) => {
                Some("ReservedFunctionConcurrentInvocationLimitExceeded")
            }
            EngineError::Throttled(Throttle::AccountConcurrency) => {
                Some("ConcurrentInvocationLimitExceeded")
            }
            _ => None,
        }
    }

    #[test]
    fn reserved_functions_have_their_own_slots() {
        let a = Arc::new(Admission::new(3, [("r".to_string(), 1)]));
        let p1 = a.admit_now("r").expect("first reserved call");
        assert_eq!(
            reason(a.admit_now("r")),
            Some("ReservedFunctionConcurrentInvocationLimitExceeded")
        );
        // The unreserved pool is 3 - 1 = 2.
        let u1 = a.admit_now("u").expect("unreserved");
        let u2 = a.admit_now("v").expect("unreserved");
        assert_eq!(
            reason(a.admit_now("u")),
            Some("ConcurrentInvocationLimitExceeded")
        );
        assert_eq!(a.busy(), 3);
        drop((p1, u1));
        a.admit_now("r").expect("slot freed");
        a.admit_now("u").expect("slot freed");
        drop(u2);
    }

    #[test]
    fn reserved_zero_throttles_everything() {
        let a = Arc::new(Admission::new(1000, [("off".to_string(), 0)]));
        assert!(a.admit_now("off").is_err());
        assert_eq!(a.unreserved_limit("000000000000"), 1000);
    }

    #[test]
    fn reservations_leave_the_unreserved_minimum() {
        let a = Admission::new(1000, []);
        a.check_reservation("f", 900).expect("leaves 100");
        assert!(a.check_reservation("f", 901).is_err());
        a.set_reserved("f", Some(900));
        assert_eq!(a.unreserved_limit("000000000000"), 100);
        // Changing f's own reservation does not count it twice.
        a.check_reservation("f", 900).expect("same value");
        assert!(a.check_reservation("g", 1).is_err());
        a.set_reserved("f", None);
        assert_eq!(a.unreserved_limit("000000000000"), 1000);
    }

    #[test]
    fn each_account_has_its_own_limit_and_reservations() {
        // `f` and `g` are the default account's, `B:f` and `B:g` account B's.
        let b = |f: &str| format!("111111111111:{f}");
        let a = Arc::new(Admission::new(2, [("f".to_string(), 1)]));
        assert_eq!(a.unreserved_limit("000000000000"), 1);
        assert_eq!(a.unreserved_limit("111111111111"), 2);
        let _g = a
            .admit_now("g")
            .expect("the default account's one unreserved slot");
        assert_eq!(
            reason(a.admit_now("h")),
            Some("ConcurrentInvocationLimitExceeded")
        );
        // B's pool is its own: both of its slots are free.
        let _b1 = a.admit_now(&b("g")).expect("B's first");
        let _b2 = a.admit_now(&b("h")).expect("B's second");
        assert_eq!(
            reason(a.admit_now(&b("i"))),
            Some("ConcurrentInvocationLimitExceeded")
        );
        assert_eq!(a.busy(), 3);
        // Reservations leave each account's own unreserved minimum.
        let a = Admission::new(1000, [("f".to_string(), 900)]);
        assert!(a.check_reservation("g", 1).is_err());
        a.check_reservation(&b("f"), 900)
            .expect("B has its own 1000");
        a.set_reserved(&b("f"), Some(900));
        assert!(a.check_reservation(&b("g"), 1).is_err());
        assert_eq!(a.unreserved_limit("000000000000"), 100);
        assert_eq!(a.unreserved_limit("111111111111"), 100);
        a.set_reserved("f", None);
        assert_eq!(a.unreserved_limit("000000000000"), 1000);
        assert_eq!(a.unreserved_limit("111111111111"), 100);
    }

    #[test]
    fn a_permit_keeps_the_pool_it_was_admitted_from() {
        let a = Arc::new(Admission::new(200, []));
        let p = a.admit_now("f").expect("unreserved");
        a.set_reserved("f", Some(50));
        drop(p);
        // The unreserved count went back to zero, not below.
        for _ in 0..150 {
            std::mem::forget(a.admit_now("g").expect("unreserved"));
        }
        assert!(a.admit_now("g").is_err());
    }
}
