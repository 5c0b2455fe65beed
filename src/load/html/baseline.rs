//! The comparison with `--baseline`'s earlier test: a row per run and percentile, the change with
//! its 95% interval and the verdict beside it (`#load-baseline`).

use crate::load::baseline::{self, BaselineReport};
use crate::report::format;
use crate::report::html::{DataCell, DataRow, DataTable, Document};

/// Adds the section for `report`.
pub(super) fn section(doc: &mut Document, report: &BaselineReport) {
    doc.heading("Against the baseline");
    let mut rows = Vec::new();
    for run in &report.runs {
        let at = run.memory_mb.map_or_else(|| run.label.clone(), |m| format!("{m} MB"));
        for m in &run.metrics {
            let verdict = baseline::line(m, report.regression);
            let verdict = verdict.rsplit(": ").next().unwrap_or_default().to_string();
            rows.push(DataRow {
                class: (m.verdict == baseline::Verdict::Regression).then(|| "failed".to_string()),
                key: Some(("metric".to_string(), format!("{at} {}", m.metric))),
                cells: vec![
                    DataCell::text(format!("{at} {}", m.metric)),
                    DataCell::value(format::ms(m.baseline_ms), "baseline-ms", m.baseline_ms),
                    DataCell::value(format::ms(m.current_ms), "current-ms", m.current_ms),
                    DataCell::value(format!("{:+.1}%", m.change * 100.0), "change", m.change),
                    DataCell::value(
                        format!("{:+.1}%..{:+.1}%", m.ci_low * 100.0, m.ci_high * 100.0),
                        "ci",
                        format!("{},{}", m.ci_low, m.ci_high),
                    ),
                    DataCell::labelled(verdict, "verdict"),
                ],
            });
        }
    }
    doc.table(&DataTable {
        id: "load-baseline".into(),
        headers: [
            "Percentile",
            "Baseline",
            "This test",
            "Change",
            "95% CI",
            "Verdict",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect(),
        rows,
    });
    doc.paragraph(
        &format!(
            "Baseline {}. Test: {}. A regression is slower past {} (--regression) with 95% \
             confidence: the whole interval is beyond it.",
            report.file,
            report.method,
            format::pct(report.regression)
        ),
        true,
    );
}
