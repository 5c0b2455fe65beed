//! The few dates the local stack writes, without a date crate: a log stream's `YYYY/MM/DD`, and
//! RFC 3339 times (a timeout message's, with milliseconds; the status's, without).

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY/MM/DD` in UTC, as Lambda's log stream names start.
pub fn utc_date() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    utc_date_of(days)
}

/// `YYYY/MM/DD` of a day counted from the Unix epoch.
pub fn utc_date_of(days: u64) -> String {
    let days = days as i64;
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate for one string.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}/{m:02}/{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: SystemTime) -> String {
    rfc3339_with(t, false)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as Lambda stamps a timeout message.
pub fn rfc3339_millis(t: SystemTime) -> String {
    rfc3339_with(t, true)
}

fn rfc3339_with(t: SystemTime, millis: bool) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let date = utc_date_of(secs / 86_400).replace('/', "-");
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let fraction = if millis {
        format!(".{:03}", since.subsec_millis())
    } else {
        String::new()
    };
    format!("{date}T{h:02}:{m:02}:{s:02}{fraction}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_have_lambdas_shapes() {
        let d = utc_date();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
        assert_eq!(&d[4..5], "/");
        assert_eq!(utc_date_of(19_723), "2024/01/01");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_millis(86_400_000 + 3_723_045);
        assert_eq!(rfc3339_millis(t), "1970-01-02T01:02:03.045Z");
    }
}
