//! The few dates the local stack writes: a log stream's `YYYY/MM/DD`, and RFC 3339 times (a
//! timeout message's, with milliseconds; the status's, without), all from the SDK's date type.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::date_time::{DateTime, Format};

/// `YYYY/MM/DD` in UTC, as Lambda's log stream names start.
pub(crate) fn utc_date() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    utc_date_of(days)
}

/// `YYYY/MM/DD` of a day counted from the Unix epoch.
pub(crate) fn utc_date_of(days: u64) -> String {
    rfc3339_secs(days * 86_400)[..10].replace('-', "/")
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    rfc3339_with(t, false)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as Lambda stamps a timeout message.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    rfc3339_with(t, true)
}

fn rfc3339_with(t: SystemTime, millis: bool) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = rfc3339_secs(since.as_secs());
    if millis {
        format!("{}.{:03}Z", &whole[..19], since.subsec_millis())
    } else {
        whole
    }
}

/// Whole seconds since the epoch in RFC 3339, as the SDK's own date type writes it.
fn rfc3339_secs(secs: u64) -> String {
    DateTime::from_secs(secs as i64)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
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
