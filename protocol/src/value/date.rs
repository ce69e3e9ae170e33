//! `$date`: RFC 3339 date-times to and from milliseconds since the Unix epoch (UTC, proleptic
//! Gregorian calendar), without a date library: the protocol needs only this one format.

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The last millisecond written as a string in canonical form: 9999-12-31T23:59:59.999Z.
const LAST_STRING_MILLIS: i64 = 253_402_300_799_999;

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. `T` and `Z` may be lower case (RFC 3339
/// §5.6). Fraction digits beyond the millisecond are dropped (the instant is rounded down), since
/// the protocol keeps millisecond precision. A leap second (`:60`) is refused.
pub(super) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Pad or cut to exactly three digits: ".5" is 500 ms, ".123456" is 123 ms.
        let fraction_digits = &fraction[..len];
        for i in 0..3 {
            millis = millis * 10 + fraction_digits.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * MILLIS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
    Some(local - offset_minutes * 60_000)
}

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ`, or `None` outside the years 1970–9999, where the canonical
/// form is `{"$numberLong": "<ms>"}` instead.
pub(super) fn format_rfc3339(millis: i64) -> Option<String> {
    if !(0..=LAST_STRING_MILLIS).contains(&millis) {
        return None;
    }
    let (days, in_day) = (millis / MILLIS_PER_DAY, millis % MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (seconds, ms) = (in_day / 1000, in_day % 1000);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ))
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`], for non-negative day counts.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_epoch_is_zero_milliseconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
    }

    #[test]
    fn offsets_are_subtracted_to_reach_utc() {
        let utc = parse_rfc3339("2024-02-29T12:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2024-02-29T14:30:00+02:30"), Some(utc));
        assert_eq!(parse_rfc3339("2024-02-29T07:00:00-05:00"), Some(utc));
    }

    #[test]
    fn fractions_are_padded_or_cut_to_milliseconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.123999Z"), Some(123));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.Z"), None);
    }

    #[test]
    fn impossible_calendar_dates_and_times_are_refused() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+0100",
            "24-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn years_outside_1970_to_9999_have_no_string_form() {
        assert_eq!(format_rfc3339(-1), None);
        assert_eq!(format_rfc3339(LAST_STRING_MILLIS).as_deref(), Some("9999-12-31T23:59:59.999Z"));
        assert_eq!(format_rfc3339(LAST_STRING_MILLIS + 1), None);
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999Z"), Some(-1));
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_back_the_same_instant(millis in 0..=LAST_STRING_MILLIS) {
            let text = format_rfc3339(millis).unwrap();
            prop_assert_eq!(parse_rfc3339(&text), Some(millis));
        }
    }
}
