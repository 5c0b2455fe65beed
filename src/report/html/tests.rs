use super::svg::nice_ticks;
use super::*;

#[test]
fn escapes_markup() {
    assert_eq!(
        escape("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn nice_ticks_cover_the_range_with_round_steps() {
    assert_eq!(nice_ticks(0.0, 1146.0, 5), vec![0.0, 500.0, 1000.0, 1500.0]);
    assert_eq!(nice_ticks(0.0, 9.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
}

#[test]
fn document_is_self_contained_and_tables_carry_values() {
    let mut doc = Document::new("T <1>", "sub");
    doc.table(&DataTable {
        id: "t".into(),
        headers: vec!["Memory".into(), "Avg".into()],
        rows: vec![DataRow {
            class: Some("best".into()),
            key: Some(("memory".into(), "128".into())),
            cells: vec![
                DataCell::value("128 MB", "memory-mb", 128),
                DataCell::value("12.5 ms", "avg-ms", 12.5),
            ],
        }],
    });
    let chart = line_chart(&LineChart {
        title: "c".into(),
        x_label: "x".into(),
        left_label: "l".into(),
        right_label: "r".into(),
        x_ticks: Some(vec![(0.0, "128 MB".into())]),
        x_format: |x| format!("{x}"),
        left_format: |y| format!("{y}"),
        right_format: |y| format!("{y}"),
        series: vec![
            Series {
                name: "a".into(),
                color: "#123".into(),
                axis: Axis::Left,
                points: vec![(0.0, 12.5)],
            },
            Series {
                name: "b".into(),
                color: "#456".into(),
                axis: Axis::Right,
                points: vec![(0.0, 1e-6)],
            },
        ],
    });
    doc.figure(&chart, "cap");
    let html = doc.render();
    assert!(html.contains("<title>T &lt;1&gt;</title>"));
    assert!(
        html.contains("<td class=\"num\" data-memory=\"128\" data-avg-ms=\"12.5\">12.5 ms</td>")
    );
    assert!(html.contains(
        "<tr class=\"best\" data-memory=\"128\" data-memory-mb=\"128\" data-avg-ms=\"12.5\">"
    ));
    assert!(html.contains("data-y=\"12.5\""));
    assert!(!html.contains("src=\"http"));
    assert!(!html.contains("href=\"http"));
    assert!(!html.contains("<script"));
}

#[test]
fn bar_chart_draws_one_rect_per_value() {
    let svg = bar_chart(&BarChart {
        title: "h".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        y_format: |y| format!("{y}"),
        groups: vec!["a".into(), "b".into()],
        series: vec![("n".into(), "#000".into(), vec![1.0, 3.0])],
    });
    assert_eq!(svg.matches("<rect x=").count(), 2);
    assert!(svg.contains("data-value=\"3\""));
}
