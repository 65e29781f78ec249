//! Calendar helpers for the generated billing data: whole days, ISO-8601 in UTC, months.

use std::time::SystemTime;

use time::{Date, Month, OffsetDateTime};

pub fn add_days(day: Date, n: i64) -> Date {
    let julian = i64::from(day.to_julian_day()).saturating_add(n);
    i32::try_from(julian).ok().and_then(|j| Date::from_julian_day(j).ok()).unwrap_or(day)
}

/// `2025-01-08T00:00:00Z`
pub fn iso(day: Date) -> String {
    iso_at(day, 0)
}

/// ISO-8601 UTC with a time of day given in seconds.
pub fn iso_at(day: Date, seconds: u32) -> String {
    let seconds = seconds % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        day.year(),
        u8::from(day.month()),
        day.day(),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Partner Center's "no date" value.
pub const NO_DATE: &str = "0001-01-01T00:00:00";

pub fn today(now: SystemTime) -> Date {
    OffsetDateTime::from(now).date()
}

/// The first day of the month `months_back` months before `day`'s month.
pub fn month_start(day: Date, months_back: u32) -> Date {
    let mut year = day.year();
    let mut month = day.month();
    for _ in 0..months_back {
        if month == Month::January {
            year -= 1;
        }
        month = month.previous();
    }
    Date::from_calendar_date(year, month, 1).unwrap_or(day)
}

pub fn month_days(start: Date) -> u32 {
    u32::from(start.month().length(start.year()))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn dates_and_months() {
        assert_eq!(iso(date!(2025 - 01 - 08)), "2025-01-08T00:00:00Z");
        assert_eq!(iso_at(date!(2025 - 01 - 08), 3_723), "2025-01-08T01:02:03Z");
        assert_eq!(month_start(date!(2025 - 01 - 15), 1), date!(2024 - 12 - 01));
        assert_eq!(month_days(date!(2024 - 02 - 01)), 29);
        assert_eq!(add_days(date!(2024 - 12 - 31), 1), date!(2025 - 01 - 01));
    }
}
