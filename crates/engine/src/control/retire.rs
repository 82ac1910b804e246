//! Which environments a change of the records retires: the one place the control plane
//! decides what the executor must stop ([`Retire`]) when code, configuration, versions,
//! aliases or provisioned-concurrency configurations change or go.

use hearth_model::arn::LATEST;

use crate::executor::Retire;

/// A change of the records that makes environments stale.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordChange<'a> {
    /// `$LATEST`'s code or configuration changed (or a change of it settled).
    LatestChanged { function: &'a str },
    /// A published version was deleted.
    VersionDeleted { function: &'a str, version: &'a str },
    /// A provisioned-concurrency configuration went, or the alias it was on.
    ProvisionedDeleted {
        function: &'a str,
        qualifier: &'a str,
    },
    /// The function was deleted.
    FunctionDeleted { function: &'a str },
}

/// What `change` retires.
pub(crate) fn retirements(change: RecordChange<'_>) -> Vec<Retire> {
    match change {
        RecordChange::LatestChanged { function } => vec![Retire::Version {
            function: function.into(),
            version: LATEST.into(),
        }],
        // A version's provisioned environments run it; an alias's may too, but an
        // alias cannot route to a version being deleted.
        RecordChange::VersionDeleted { function, version } => vec![
            Retire::Allocation {
                function: function.into(),
                qualifier: version.into(),
            },
            Retire::Version {
                function: function.into(),
                version: version.into(),
            },
        ],
        RecordChange::ProvisionedDeleted {
            function,
            qualifier,
        } => vec![Retire::Allocation {
            function: function.into(),
            qualifier: qualifier.into(),
        }],
        RecordChange::FunctionDeleted { function } => vec![Retire::Function {
            function: function.into(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_latest_retires_latest_only() {
        assert_eq!(
            retirements(RecordChange::LatestChanged { function: "f" }),
            vec![Retire::Version {
                function: "f".into(),
                version: LATEST.into()
            }]
        );
    }

    #[test]
    fn a_deleted_version_takes_its_warm_and_provisioned_environments() {
        assert_eq!(
            retirements(RecordChange::VersionDeleted {
                function: "f",
                version: "3"
            }),
            vec![
                Retire::Allocation {
                    function: "f".into(),
                    qualifier: "3".into()
                },
                Retire::Version {
                    function: "f".into(),
                    version: "3".into()
                },
            ]
        );
    }

    #[test]
    fn deletes_of_configs_and_functions() {
        assert_eq!(
            retirements(RecordChange::ProvisionedDeleted {
                function: "f",
                qualifier: "live"
            }),
            vec![Retire::Allocation {
                function: "f".into(),
                qualifier: "live".into()
            }]
        );
        assert_eq!(
            retirements(RecordChange::FunctionDeleted { function: "f" }),
            vec![Retire::Function {
                function: "f".into()
            }]
        );
    }
}
