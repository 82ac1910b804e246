//! The billed duration of one invocation, as AWS computes it: the duration (plus the INIT
//! phase when it is billed) rounded up to the next millisecond.
//!
//! The INIT phase: from 1 August 2025 AWS bills it for every on-demand invocation that
//! starts an environment ("AWS Lambda standardizes billing for INIT phase", AWS Compute
//! Blog, April 2025). Before that day it was billed only for custom runtimes (`provided.*`)
//! and container images, not for managed runtimes packaged as a .zip. How AWS rounds the
//! sum (one ceiling over duration + init, which is what its REPORT lines show for custom
//! runtimes) is read from REPORT lines, not from a written rule: UNSURE.

/// 2025-08-01 in days since 1970-01-01: from this day on, every on-demand INIT is billed.
pub const INIT_BILLED_FOR_ALL_SINCE: i64 = 20_301;

/// How a function's code runs; it decided whether INIT was billed before August 2025.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// A managed runtime (`python3.12`, `nodejs20.x`, ...) from a .zip.
    Managed,
    /// An OS-only runtime (`provided.al2023`) with the function's own bootstrap.
    Custom,
    /// A container image.
    Image,
}

impl RuntimeKind {
    /// The kind of a function from its `Runtime` and `PackageType`.
    pub fn of(runtime: Option<&str>, package_type: Option<&str>) -> Self {
        if package_type == Some("Image") {
            Self::Image
        } else if runtime.is_some_and(|r| r.starts_with("provided")) {
            Self::Custom
        } else {
            Self::Managed
        }
    }
}

/// One on-demand invocation as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Invocation {
    /// The invoke phase, in (fractional) milliseconds.
    pub duration_ms: f64,
    /// The INIT phase, when this invocation started its environment.
    pub init_ms: Option<f64>,
    pub runtime: RuntimeKind,
    pub memory_mb: u32,
    /// The day of the invocation (days since 1970-01-01, UTC): the billing rule changed.
    pub day: i64,
}

/// What AWS bills for one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    /// The billed duration, INIT included when billed (REPORT's `Billed Duration`).
    pub billed_ms: u64,
    /// The part of `billed_ms` that is INIT.
    pub init_billed_ms: u64,
    /// `billed_ms` × memory: the unit of duration prices (1,024,000 make one GB-second).
    pub mb_ms: u64,
}

/// Bills one invocation as AWS does.
pub fn bill_invocation(inv: &Invocation) -> Billed {
    let init_billed = inv.day >= INIT_BILLED_FOR_ALL_SINCE || inv.runtime != RuntimeKind::Managed;
    let init_ms = if init_billed {
        inv.init_ms.unwrap_or(0.0).max(0.0)
    } else {
        0.0
    };
    let billed_ms = ceil_ms(inv.duration_ms.max(0.0) + init_ms);
    let init_billed_ms = if init_ms > 0.0 {
        ceil_ms(init_ms).min(billed_ms)
    } else {
        0
    };
    Billed {
        billed_ms,
        init_billed_ms,
        mb_ms: billed_ms * u64::from(inv.memory_mb),
    }
}

/// Rounds up to a whole millisecond (at least 1: AWS bills no invocation as 0 ms).
fn ceil_ms(ms: f64) -> u64 {
    // Float noise in a parsed "12.00" must not become 13 ms.
    let rounded = (ms * 1000.0).round() / 1000.0;
    (rounded.ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(duration_ms: f64, init_ms: Option<f64>, runtime: RuntimeKind, day: i64) -> Invocation {
        Invocation {
            duration_ms,
            init_ms,
            runtime,
            memory_mb: 512,
            day,
        }
    }

    #[test]
    fn duration_rounds_up_to_the_millisecond() {
        let b = bill_invocation(&inv(119.01, None, RuntimeKind::Managed, 20_425));
        assert_eq!(
            b,
            Billed {
                billed_ms: 120,
                init_billed_ms: 0,
                mb_ms: 120 * 512
            }
        );
        let b = bill_invocation(&inv(120.0, None, RuntimeKind::Managed, 20_425));
        assert_eq!(b.billed_ms, 120);
        let b = bill_invocation(&inv(0.2, None, RuntimeKind::Managed, 20_425));
        assert_eq!(b.billed_ms, 1);
    }

    #[test]
    fn init_is_billed_for_every_runtime_since_august_2025() {
        // 2.5 + 100.2 = 102.7 -> 103 ms, of which INIT ceil(100.2) = 101.
        for kind in [
            RuntimeKind::Managed,
            RuntimeKind::Custom,
            RuntimeKind::Image,
        ] {
            let b = bill_invocation(&inv(2.5, Some(100.2), kind, INIT_BILLED_FOR_ALL_SINCE));
            assert_eq!(
                b,
                Billed {
                    billed_ms: 103,
                    init_billed_ms: 101,
                    mb_ms: 103 * 512
                }
            );
        }
    }

    #[test]
    fn before_august_2025_managed_runtimes_did_not_pay_init() {
        let day = INIT_BILLED_FOR_ALL_SINCE - 1;
        let b = bill_invocation(&inv(2.5, Some(100.2), RuntimeKind::Managed, day));
        assert_eq!(
            b,
            Billed {
                billed_ms: 3,
                init_billed_ms: 0,
                mb_ms: 3 * 512
            }
        );
        let b = bill_invocation(&inv(2.5, Some(100.2), RuntimeKind::Custom, day));
        assert_eq!(b.billed_ms, 103);
    }

    #[test]
    fn runtime_kinds() {
        assert_eq!(
            RuntimeKind::of(Some("python3.12"), Some("Zip")),
            RuntimeKind::Managed
        );
        assert_eq!(
            RuntimeKind::of(Some("provided.al2023"), None),
            RuntimeKind::Custom
        );
        assert_eq!(RuntimeKind::of(None, Some("Image")), RuntimeKind::Image);
    }
}
