//! Lambda's recursive loop detection, as a pure function of the trace header: the
//! header's `Lineage=` counts, per function, how many times one chain of events has
//! invoked it through the services that carry the header (SQS, SNS), and an invocation
//! that would make a function's count exceed [`RECURSION_LIMIT`] is a loop.
//!
//! The format is `Lineage=<hash>:<count>`, several functions' entries joined by `|`
//! (`Lineage=a87bd80c:1|68fd508a:5`), where `<hash>` is 8 hex digits naming the function.
//! UNSURE: AWS documents the part (X-Ray's "Lineage" in the tracing header) but not how
//! it derives the hash; Hearth uses FNV-1a (32 bits) of the function's unqualified ARN.
//! Entries Hearth cannot read are kept as they came, so a header from elsewhere survives.

use crate::header::TraceHeader;

/// How many times an event chain may invoke one function through SQS and SNS: Lambda
/// stops "the next invocation" once a function has been invoked more than 16 times by
/// the same chain (AWS's "Use Lambda recursive loop detection to prevent infinite loops";
/// the 2023 launch note says "after 16 recursive calls").
pub const RECURSION_LIMIT: u32 = 16;

/// The 8 hex digits that name `function_arn` (unqualified) in a `Lineage=` entry.
pub fn function_hash(function_arn: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in function_arn.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// What counting one more invocation of a function in a chain gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageStep {
    /// The header to hand on: the incoming one (or an empty one) with the function's
    /// count raised.
    pub header: TraceHeader,
    /// How many times the chain has now invoked the function, this one included.
    pub count: u32,
}

impl LineageStep {
    /// Whether this invocation is past [`RECURSION_LIMIT`]: a recursive loop, which a
    /// function whose recursion config is `Terminate` does not run.
    pub fn is_loop(&self) -> bool {
        self.count > RECURSION_LIMIT
    }
}

/// Counts one invocation of the function named by `hash` (see [`function_hash`]) in the
/// chain `incoming` belongs to: its entry in `Lineage=` goes up by one (or is added with
/// 1, after the others), every other part of the header is kept.
pub fn count_invocation(incoming: Option<&TraceHeader>, hash: &str) -> LineageStep {
    let mut header = incoming.cloned().unwrap_or_default();
    let mut entries: Vec<String> = header
        .lineage
        .as_deref()
        .map(|l| {
            l.split('|')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut count = None;
    for entry in &mut entries {
        let Some((h, n)) = entry.split_once(':') else {
            continue;
        };
        if h != hash {
            continue;
        }
        // An unreadable count is taken as the limit: a chain that cannot be counted is
        // not let run for ever.
        let next = n
            .parse::<u32>()
            .unwrap_or(RECURSION_LIMIT)
            .saturating_add(1);
        *entry = format!("{hash}:{next}");
        count = Some(next);
        break;
    }
    let count = count.unwrap_or_else(|| {
        entries.push(format!("{hash}:1"));
        1
    });
    header.lineage = Some(entries.join("|"));
    LineageStep { header, count }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> TraceHeader {
        s.parse().expect("a valid header")
    }

    #[test]
    fn the_hash_is_fnv1a_in_8_hex_digits() {
        // FNV-1a 32 of "" is its offset basis; of "a", 0xe40c292c (the published vector).
        assert_eq!(function_hash(""), "811c9dc5");
        assert_eq!(function_hash("a"), "e40c292c");
        assert_ne!(
            function_hash("arn:aws:lambda:us-east-1:000000000000:function:f"),
            function_hash("arn:aws:lambda:us-east-1:000000000000:function:g")
        );
    }

    #[test]
    fn a_chain_without_lineage_starts_at_one_and_keeps_the_rest() {
        let incoming =
            header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        let step = count_invocation(Some(&incoming), "a87bd80c");
        assert_eq!(step.count, 1);
        assert!(!step.is_loop());
        assert_eq!(
            step.header.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
        );
        let bare = count_invocation(None, "a87bd80c");
        assert_eq!(bare.header.to_string(), "Lineage=a87bd80c:1");
        assert_eq!(bare.count, 1);
    }

    #[test]
    fn the_functions_own_entry_is_raised_and_others_kept_in_order() {
        let incoming = header(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=68fd508a:5|a87bd80c:1|x|c512fbe3:2",
        );
        let step = count_invocation(Some(&incoming), "a87bd80c");
        assert_eq!(step.count, 2);
        assert_eq!(
            step.header.lineage.as_deref(),
            Some("68fd508a:5|a87bd80c:2|x|c512fbe3:2")
        );
        let other = count_invocation(Some(&incoming), "00000001");
        assert_eq!(other.count, 1);
        assert_eq!(
            other.header.lineage.as_deref(),
            Some("68fd508a:5|a87bd80c:1|x|c512fbe3:2|00000001:1")
        );
    }

    #[test]
    fn the_seventeenth_invocation_is_a_loop() {
        let mut header: Option<TraceHeader> = None;
        let mut counts = Vec::new();
        for _ in 0..17 {
            let step = count_invocation(header.as_ref(), "a87bd80c");
            counts.push((step.count, step.is_loop()));
            header = Some(step.header);
        }
        assert_eq!(counts[15], (16, false));
        assert_eq!(counts[16], (17, true));
        assert_eq!(counts.iter().filter(|(_, l)| *l).count(), 1);
        assert_eq!(
            header.and_then(|h| h.lineage).as_deref(),
            Some("a87bd80c:17")
        );
    }

    #[test]
    fn an_unreadable_count_is_taken_as_the_limit() {
        let step = count_invocation(Some(&header("Lineage=a87bd80c:many")), "a87bd80c");
        assert_eq!(step.count, RECURSION_LIMIT + 1);
        assert!(step.is_loop());
    }
}
