//! The plain cron fields (Minutes, Hours, Month, Year, and the list forms of Day-of-month and
//! Day-of-week): `,` lists of `*`, values, `a-b` ranges and `/` steps, held as a bit set so the
//! next matching value is a few word operations away.

use crate::error::{CronField, ScheduleError};

/// A set of values `lo..lo+256`; the widest field (Year, 1970-2199) has 230.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueSet {
    lo: u16,
    bits: [u64; 4],
}

impl ValueSet {
    pub(crate) fn empty(lo: u16) -> Self {
        ValueSet { lo, bits: [0; 4] }
    }

    fn insert(&mut self, value: u16) {
        let i = usize::from(value - self.lo);
        self.bits[i / 64] |= 1 << (i % 64);
    }

    pub(crate) fn contains(&self, value: u16) -> bool {
        if value < self.lo {
            return false;
        }
        let i = usize::from(value - self.lo);
        i < 256 && self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// The smallest member `>= from`.
    pub(crate) fn next_at_or_after(&self, from: u16) -> Option<u16> {
        let start = usize::from(from.max(self.lo) - self.lo);
        let mut word = start / 64;
        if word >= 4 {
            return None;
        }
        let mut bits = self.bits[word] & (u64::MAX << (start % 64));
        loop {
            if bits != 0 {
                let i = word * 64 + bits.trailing_zeros() as usize;
                return Some(self.lo + i as u16);
            }
            word += 1;
            if word == 4 {
                return None;
            }
            bits = self.bits[word];
        }
    }

    /// Members `>= from`, ascending.
    pub(crate) fn iter_from(&self, from: u16) -> impl Iterator<Item = u16> + '_ {
        let mut next = Some(from);
        std::iter::from_fn(move || {
            let value = self.next_at_or_after(next?)?;
            next = value.checked_add(1);
            Some(value)
        })
    }
}

/// What one field accepts: its value range and, for Month and Day-of-week, its names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldSpec {
    pub(crate) field: CronField,
    pub(crate) min: u16,
    pub(crate) max: u16,
    names: &'static [&'static str],
    /// Whether `/` steps are allowed (AWS's table lists none for Day-of-week).
    steps: bool,
    /// Whether a range may run past the end and wrap (`FRI-MON`, `22-2`); not for Year.
    wraps: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// Day-of-week names in AWS's numbering: 1 = SUN ... 7 = SAT.
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

pub(crate) const MINUTES: FieldSpec = FieldSpec::plain(CronField::Minutes, 0, 59);
pub(crate) const HOURS: FieldSpec = FieldSpec::plain(CronField::Hours, 0, 23);
pub(crate) const DAY_OF_MONTH: FieldSpec = FieldSpec::plain(CronField::DayOfMonth, 1, 31);
pub(crate) const MONTH: FieldSpec = FieldSpec {
    names: &MONTHS,
    ..FieldSpec::plain(CronField::Month, 1, 12)
};
pub(crate) const DAY_OF_WEEK: FieldSpec = FieldSpec {
    names: &DAYS,
    steps: false,
    ..FieldSpec::plain(CronField::DayOfWeek, 1, 7)
};
pub(crate) const YEAR: FieldSpec = FieldSpec {
    wraps: false,
    ..FieldSpec::plain(CronField::Year, 1970, 2199)
};

impl FieldSpec {
    const fn plain(field: CronField, min: u16, max: u16) -> Self {
        FieldSpec {
            field,
            min,
            max,
            names: &[],
            steps: true,
            wraps: true,
        }
    }

    pub(crate) fn error(&self, text: &str, reason: &'static str) -> ScheduleError {
        ScheduleError::CronField {
            field: self.field,
            text: text.to_string(),
            reason,
        }
    }

    /// One value: a number in range, or (Month, Day-of-week) a three-letter name.
    pub(crate) fn value(&self, whole: &str, text: &str) -> Result<u16, ScheduleError> {
        if let Some(i) = self
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(self.min + i as u16);
        }
        let value = number(text).ok_or_else(|| self.error(whole, "not a number or name"))?;
        if value < self.min || value > self.max {
            return Err(self.error(whole, "value out of range"));
        }
        Ok(value)
    }

    /// A whole field of `,`-separated items.
    pub(crate) fn parse_list(&self, text: &str) -> Result<ValueSet, ScheduleError> {
        let mut set = ValueSet::empty(self.min);
        for item in text.split(',') {
            self.parse_item(text, item, &mut set)?;
        }
        Ok(set)
    }

    fn parse_item(&self, whole: &str, item: &str, set: &mut ValueSet) -> Result<(), ScheduleError> {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                if !self.steps {
                    return Err(self.error(whole, "/ is not allowed in this field"));
                }
                let step = number(step).ok_or_else(|| self.error(whole, "step is not a number"))?;
                if step == 0 || step > self.max - self.min + 1 {
                    return Err(self.error(whole, "step out of range"));
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (start, end) = if range == "*" {
            (self.min, self.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (self.value(whole, a)?, self.value(whole, b)?)
        } else {
            let start = self.value(whole, range)?;
            // `a/n` runs from a to the end of the field, as `0/15` in Minutes.
            (start, if step.is_some() { self.max } else { start })
        };
        if start > end && !self.wraps {
            return Err(self.error(whole, "range runs backwards"));
        }
        let step = step.unwrap_or(1);
        // A wrapping range (`FRI-MON`) is walked through the end of the field and back to its
        // start, the way Quartz (whose syntax AWS's cron follows) reads one.
        let span = self.max - self.min + 1;
        let length = if start <= end {
            end - start
        } else {
            end + span - start
        };
        let mut offset = 0;
        while offset <= length {
            let mut value = start + offset;
            if value > self.max {
                value -= span;
            }
            set.insert(value);
            offset += step;
        }
        Ok(())
    }
}

/// A plain unsigned decimal number (no sign, no spaces), at most four digits.
pub(crate) fn number(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(spec: &FieldSpec, text: &str) -> Vec<u16> {
        spec.parse_list(text)
            .expect("field parses")
            .iter_from(0)
            .collect()
    }

    #[test]
    fn lists_ranges_and_steps() {
        assert_eq!(members(&MINUTES, "0/15"), vec![0, 15, 30, 45]);
        assert_eq!(members(&MINUTES, "*/20"), vec![0, 20, 40]);
        assert_eq!(
            members(&MINUTES, "5-40/5"),
            vec![5, 10, 15, 20, 25, 30, 35, 40]
        );
        assert_eq!(members(&MINUTES, "1/10"), vec![1, 11, 21, 31, 41, 51]);
        assert_eq!(members(&HOURS, "8-17"), (8..=17).collect::<Vec<_>>());
        assert_eq!(members(&HOURS, "1,3,22"), vec![1, 3, 22]);
        assert_eq!(members(&MONTH, "JAN,mar,DEC"), vec![1, 3, 12]);
        assert_eq!(members(&DAY_OF_WEEK, "MON-FRI"), vec![2, 3, 4, 5, 6]);
        assert_eq!(members(&DAY_OF_WEEK, "FRI-MON"), vec![1, 2, 6, 7]);
        assert_eq!(members(&HOURS, "22-2"), vec![0, 1, 2, 22, 23]);
        assert_eq!(members(&YEAR, "2020/100"), vec![2020, 2120]);
        assert_eq!(members(&DAY_OF_MONTH, "*").len(), 31);
    }

    #[test]
    fn bad_items_are_refused() {
        for (spec, text) in [
            (&MINUTES, "60"),
            (&MINUTES, "0/0"),
            (&MINUTES, "0/61"),
            (&MINUTES, "-1"),
            (&MINUTES, ""),
            (&MINUTES, "1,"),
            (&MINUTES, "a"),
            (&HOURS, "24"),
            (&DAY_OF_MONTH, "0"),
            (&DAY_OF_MONTH, "32"),
            (&MONTH, "13"),
            (&MONTH, "JANUARY"),
            (&DAY_OF_WEEK, "0"),
            (&DAY_OF_WEEK, "8"),
            (&DAY_OF_WEEK, "*/2"),
            (&YEAR, "1969"),
            (&YEAR, "2200"),
            (&YEAR, "2030-2020"),
        ] {
            assert!(spec.parse_list(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn next_at_or_after_crosses_words() {
        let set = YEAR.parse_list("1971,2100,2199").expect("years parse");
        assert_eq!(set.next_at_or_after(1900), Some(1971));
        assert_eq!(set.next_at_or_after(1972), Some(2100));
        assert_eq!(set.next_at_or_after(2101), Some(2199));
        assert_eq!(set.next_at_or_after(2200), None);
        assert!(set.contains(2100));
        assert!(!set.contains(2101));
    }
}
