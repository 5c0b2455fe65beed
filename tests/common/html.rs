//! HTML reports as a reader gets them: self-contained, and rendered by a real browser.

use std::path::Path;
use std::process::Command;

/// Asserts the report loads nothing from the network: no script, no stylesheet link, no URL.
pub fn assert_self_contained(html: &str) {
    let external = regex::Regex::new(r#"(?i-u)(src|href)\s*=\s*["']?\s*(https?:)?//"#).unwrap();
    assert!(
        !external.is_match(html),
        "the report loads something from the network"
    );
    assert!(!html.contains("<script") && !html.contains("<link"));
}

/// Renders a page in headless Chromium (Debian's package, installed by `scripts/install-deps`) and
/// returns the DOM it built, plus a screenshot's size in bytes. Fails the test when Chromium is missing:
/// a report check that silently passes without a browser proves nothing.
pub fn render_in_chromium(page: &Path) -> (String, u64) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is needed to check the HTML reports: run scripts/install-deps (apt-get install chromium)");
    let profile = page.with_extension("chromium-profile");
    let url = format!("file://{}", page.display());
    let dom = run_chromium(chromium, &profile, &["--dump-dom", &url]);
    let shot = page.with_extension("png");
    run_chromium(
        chromium,
        &profile,
        &[&format!("--screenshot={}", shot.display()), &url],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&profile);
    (dom, size)
}

/// Runs headless Chromium with `args` and its own profile; returns its stdout.
fn run_chromium(chromium: &str, profile: &Path, args: &[&str]) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    super::assert_succeeded(&out, &format!("chromium {args:?}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `attr` on the first element of the DOM that has `data-memory="{memory}"` and `attr`.
pub fn data_value(dom: &str, memory: u64, attr: &str) -> Option<String> {
    let marker = format!("data-memory=\"{memory}\"");
    dom.split('<').filter(|tag| tag.contains(&marker)).find_map(|tag| {
        let start = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].to_string())
    })
}
