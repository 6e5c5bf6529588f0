//! Time is stored in UTC, truncated to microseconds: PostgreSQL keeps microseconds and
//! SQLite whatever it is given, and anything hashed or compared must agree on both.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound, Utc};

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Parses a date given on the command line or in a form: RFC 3339, `YYYY-MM-DDTHH:MM`, or a
/// bare date. A bare date means the start of that day, or its last second when
/// `end_of_day` (a round that "closes on 15 January" takes comments all that day).
pub fn parse_datetime(input: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    let s = input.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).naive_utc().trunc_subsecs(6));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let time = if end_of_day {
        NaiveTime::from_hms_opt(23, 59, 59)?
    } else {
        NaiveTime::MIN
    };
    Some(date.and_time(time))
}

/// Whole days left until `end`, rounded up; zero once it has passed.
pub fn days_left(now: NaiveDateTime, end: NaiveDateTime) -> i64 {
    let secs = (end - now).num_seconds();
    if secs <= 0 {
        0
    } else {
        (secs + 86_399) / 86_400
    }
}

/// `2027-01-15 23:59 UTC`: unambiguous until dates are shown in the reader's locale.
pub fn display(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The `datetime` attribute of a `<time>` element.
pub fn machine(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_dates_cover_the_whole_day() {
        let closes = parse_datetime("2027-01-15", true).unwrap();
        assert_eq!(display(closes), "2027-01-15 23:59 UTC");
        let opens = parse_datetime("2027-01-15", false).unwrap();
        assert_eq!(machine(opens), "2027-01-15T00:00:00Z");
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let dt = parse_datetime("2027-01-15T10:00:00+05:00", false).unwrap();
        assert_eq!(machine(dt), "2027-01-15T05:00:00Z");
        assert!(parse_datetime("15/01/2027", false).is_none());
    }

    #[test]
    fn days_left_rounds_up_and_stops_at_zero() {
        let now = parse_datetime("2027-01-01T12:00", false).unwrap();
        assert_eq!(
            days_left(now, parse_datetime("2027-01-02T12:00", false).unwrap()),
            1
        );
        assert_eq!(
            days_left(now, parse_datetime("2027-01-02T12:01", false).unwrap()),
            2
        );
        assert_eq!(
            days_left(now, parse_datetime("2026-12-31", false).unwrap()),
            0
        );
    }
}
