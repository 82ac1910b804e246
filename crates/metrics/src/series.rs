//! What names a series: its canonical id (account, namespace, metric name and dimensions
//! sorted by name) and CloudWatch's units (botocore's `StandardUnit`).

/// CloudWatch's units, in botocore's order (`StandardUnit`); a point's aggregates are kept
/// per unit by index in this list.
pub const STANDARD_UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The unit data has when none was given.
pub const UNIT_NONE: u8 = 26;

/// A unit of [`STANDARD_UNITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit(pub(crate) u8);

impl Unit {
    pub const SECONDS: Unit = Unit(0);
    pub const MICROSECONDS: Unit = Unit(1);
    pub const MILLISECONDS: Unit = Unit(2);
    pub const BYTES: Unit = Unit(3);
    pub const MEGABYTES: Unit = Unit(5);
    pub const PERCENT: Unit = Unit(13);
    pub const COUNT: Unit = Unit(14);
    pub const NONE: Unit = Unit(UNIT_NONE);

    /// The unit AWS spells `name`.
    pub fn parse(name: &str) -> Option<Unit> {
        unit_code(name).map(Unit)
    }

    /// AWS's spelling.
    pub fn name(self) -> &'static str {
        unit_name(self.0).unwrap_or("None")
    }
}

/// A unit's index in [`STANDARD_UNITS`].
pub fn unit_code(unit: &str) -> Option<u8> {
    STANDARD_UNITS
        .iter()
        .position(|u| *u == unit)
        .and_then(|i| u8::try_from(i).ok())
}

/// The unit of an index in [`STANDARD_UNITS`].
pub fn unit_name(code: u8) -> Option<&'static str> {
    STANDARD_UNITS.get(usize::from(code)).copied()
}

/// `dims` sorted by name (CloudWatch treats dimensions as a set).
pub fn sorted_dimensions<N: AsRef<str>, V: AsRef<str>>(dims: &[(N, V)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = dims
        .iter()
        .map(|(n, v)| (n.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    out.sort();
    out
}

/// The series' id: a JSON array, so that no name or value can collide with another
/// (every part is escaped), ordering a listing by account, namespace, name, dimensions.
/// `dims` must be sorted by name.
pub fn series_id(account: &str, namespace: &str, name: &str, dims: &[(String, String)]) -> String {
    let dims: Vec<[&str; 2]> = dims.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect();
    serde_json::json!([account, namespace, name, dims]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_and_escaped() {
        let a = sorted_dimensions(&[("b", "2"), ("a", "1")]);
        let b = sorted_dimensions(&[("a", "1"), ("b", "2")]);
        assert_eq!(series_id("1", "N", "m", &a), series_id("1", "N", "m", &b));
        assert_eq!(
            series_id("123", "App\"x", "Lat", &a),
            r#"["123","App\"x","Lat",[["a","1"],["b","2"]]]"#
        );
    }

    #[test]
    fn units_have_stable_codes() {
        assert_eq!(unit_code("None"), Some(UNIT_NONE));
        assert_eq!(unit_code("Count/Second"), Some(25));
        assert_eq!(unit_name(2), Some("Milliseconds"));
        assert_eq!(unit_code("ms"), None);
        assert_eq!(Unit::MILLISECONDS.name(), "Milliseconds");
        assert_eq!(Unit::COUNT.name(), "Count");
        assert_eq!(Unit::MEGABYTES.name(), "Megabytes");
        assert_eq!(Unit::PERCENT.name(), "Percent");
        assert_eq!(Unit::parse("Bytes"), Some(Unit::BYTES));
    }
}
