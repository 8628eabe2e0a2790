//! UTC timestamps (RFC 3339 with milliseconds) without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// `2026-11-21T07:08:03.123Z`
pub fn rfc3339(ms: u128) -> String {
    let (date, rest) = civil(ms);
    format!("{}-{:02}-{:02}T{}Z", date.0, date.1, date.2, rest)
}

/// `20261121T070803123Z`: sorts in time order, safe in file names.
pub fn compact(ms: u128) -> String {
    let (date, _) = civil(ms);
    let day_ms = ms % 86_400_000;
    let (h, m, s, milli) = (day_ms / 3_600_000, day_ms / 60_000 % 60, day_ms / 1000 % 60, day_ms % 1000);
    format!("{}{:02}{:02}T{h:02}{m:02}{s:02}{milli:03}Z", date.0, date.1, date.2)
}

/// Read back a time written by [`rfc3339`] (`None` for anything else).
pub fn parse_rfc3339(text: &str) -> Option<u128> {
    let b = text.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, s, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 24 + h) * 60 + min) * 60_000 + s * 1000 + milli;
    u128::try_from(ms).ok()
}

fn civil(ms: u128) -> ((i64, u32, u32), String) {
    let days = (ms / 86_400_000) as i64;
    let day_ms = ms % 86_400_000;
    let time = format!("{:02}:{:02}:{:02}.{:03}", day_ms / 3_600_000, day_ms / 60_000 % 60, day_ms / 1000 % 60, day_ms % 1000);
    // Howard Hinnant's days-from-civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    ((y, m, d), time)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(1_795_763_283_123), "2026-11-27T07:08:03.123Z");
        assert_eq!(super::compact(951_782_400_000), "20000229T000000000Z");
        for ms in [0, 951_782_400_000, 1_795_763_283_123, 4_102_444_799_999] {
            assert_eq!(super::parse_rfc3339(&super::rfc3339(ms)), Some(ms));
        }
        assert_eq!(super::parse_rfc3339("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(super::parse_rfc3339("yesterday"), None);
    }
}
