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
    }
}
