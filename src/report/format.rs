//! Number formatting shared by terminal tables, JSON-free text and HTML reports.

/// Formats milliseconds with a precision that suits the magnitude: `0.42 ms`, `12.3 ms`, `1146 ms`.
pub(crate) fn ms(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    let abs = value.abs();
    if abs >= 100.0 {
        format!("{value:.0} ms")
    } else if abs >= 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

/// Formats a dollar amount per invocation with enough significant digits to compare sizes
/// (`$0.00000241`), as the tutorial's table does.
pub(crate) fn usd(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    if value == 0.0 {
        return "$0".to_string();
    }
    // Three significant digits whatever the magnitude: per-invocation costs are around 1e-6.
    let digits = (-(value.abs().log10().floor()) as i32 + 2).clamp(2, 12) as usize;
    format!("${value:.digits$}")
}

/// Formats a fraction (0..=1) as a percentage with one decimal: `0.0%`, `12.5%`.
pub(crate) fn pct(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "-".to_string();
    }
    format!("{:.1}%", fraction * 100.0)
}

/// Formats a rate per second: `12.3/s`, `1520/s`.
pub(crate) fn rate(per_second: f64) -> String {
    if !per_second.is_finite() {
        return "-".to_string();
    }
    if per_second >= 100.0 {
        format!("{per_second:.0}/s")
    } else {
        format!("{per_second:.1}/s")
    }
}

/// Formats a duration in seconds for humans: `45s`, `2m`, `2m 30s`, `1.5s`.
pub(crate) fn seconds(secs: f64) -> String {
    if secs < 10.0 && secs.fract() != 0.0 {
        return format!("{secs:.1}s");
    }
    let total = secs.round() as u64;
    let (m, s) = (total / 60, total % 60);
    match (m, s) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// The current time in UTC, `2025-11-27 21:49 UTC`, for report headers.
pub(crate) fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar), cut from
/// the SDK's RFC 3339 date.
pub(crate) fn utc(epoch_secs: u64) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    let rfc3339 = DateTime::from_secs(epoch_secs as i64)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string());
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_magnitude() {
        assert_eq!(ms(0.4219), "0.42 ms");
        assert_eq!(ms(12.34), "12.3 ms");
        assert_eq!(ms(1146.2), "1146 ms");
        assert_eq!(usd(0.00000241), "$0.00000241");
        assert_eq!(usd(0.0000015833), "$0.00000158");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(pct(0.125), "12.5%");
        assert_eq!(rate(12.345), "12.3/s");
        assert_eq!(seconds(150.0), "2m 30s");
        assert_eq!(seconds(120.0), "2m");
        assert_eq!(seconds(1.5), "1.5s");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34 UTC = 1709210040.
        assert_eq!(utc(1_709_210_040), "2024-02-29 12:34 UTC");
    }
}
