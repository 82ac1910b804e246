//! Days since the Unix epoch (UTC) to calendar months: AWS applies its duration tiers and
//! its free tier per calendar month.

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The calendar month of a day counted from 1970-01-01 (day 0).
pub fn month_of_day(day: i64) -> Month {
    // Howard Hinnant's `civil_from_days`: eras of 400 years starting on 1 March, so the
    // leap day is the last day of a year.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Month {
        year: i32::try_from(year).unwrap_or(i32::MAX),
        month: u32::try_from(month).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(
            month_of_day(0),
            Month {
                year: 1970,
                month: 1
            }
        );
        assert_eq!(
            month_of_day(30),
            Month {
                year: 1970,
                month: 1
            }
        );
        assert_eq!(
            month_of_day(31),
            Month {
                year: 1970,
                month: 2
            }
        );
        // 2025-08-01 is day 20301; 2025-07-31 the day before.
        assert_eq!(
            month_of_day(20301),
            Month {
                year: 2025,
                month: 8
            }
        );
        assert_eq!(
            month_of_day(20300),
            Month {
                year: 2025,
                month: 7
            }
        );
        // 2024-02-29 (leap day) is day 19782, 2024-03-01 is 19783.
        assert_eq!(
            month_of_day(19782),
            Month {
                year: 2024,
                month: 2
            }
        );
        assert_eq!(
            month_of_day(19783),
            Month {
                year: 2024,
                month: 3
            }
        );
        assert_eq!(
            month_of_day(-1),
            Month {
                year: 1969,
                month: 12
            }
        );
        assert_eq!(month_of_day(20301).to_string(), "2025-08");
    }
}
