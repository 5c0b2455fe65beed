//! Joins several self-contained reports into one page (the tutorial's single report).

use std::path::Path;

use anyhow::Context;

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)?;
    let after = &text[start..];
    let body_start = after.find('>')? + 1;
    let end = after.rfind(close)?;
    after.get(body_start..end)
}

/// Writes `out`: the `<head>` of the first report and the `<body>` of each, in order.
pub(crate) fn combine(out: &Path, parts: &[&Path], title: &str) -> anyhow::Result<()> {
    let mut head = String::new();
    let mut bodies = Vec::new();
    for part in parts {
        let html = std::fs::read_to_string(part)
            .with_context(|| format!("cannot read report {}", part.display()))?;
        if head.is_empty() {
            head = between(&html, "<head", "</head>").unwrap_or_default().to_string();
        }
        bodies.push(between(&html, "<body", "</body>").unwrap_or(&html).to_string());
    }
    let head = match (head.find("<title>"), head.find("</title>")) {
        (Some(a), Some(b)) => format!(
            "{}<title>{}</title>{}",
            &head[..a],
            crate::report::html::escape(title),
            &head[b + 8..]
        ),
        _ => head,
    };
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>{head}</head>\n<body>\n{}\n</body>\n</html>\n",
        bodies.join("\n<hr>\n")
    );
    std::fs::write(out, page).with_context(|| format!("cannot write {}", out.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_are_joined_under_one_head() {
        let dir = std::env::temp_dir().join(format!("lab-combine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.html");
        let b = dir.join("b.html");
        std::fs::write(
            &a,
            "<html><head><title>A</title><style>x</style></head><body><p>one</p></body></html>",
        )
        .unwrap();
        std::fs::write(
            &b,
            "<html><head><title>B</title></head><body class=\"r\"><p>two</p></body></html>",
        )
        .unwrap();
        let out = dir.join("all.html");
        super::combine(&out, &[&a, &b], "All").unwrap();
        let page = std::fs::read_to_string(&out).unwrap();
        assert!(
            page.contains("<title>All</title><style>x</style>"),
            "{page}"
        );
        assert!(page.find("<p>one</p>").unwrap() < page.find("<p>two</p>").unwrap());
        std::fs::remove_dir_all(&dir).ok();
    }
}
