//! The house rules ARCHITECTURE.md §1 states, checked on the sources: lab's top-level modules use
//! only what its dependency table allows them (so an arrow pointing back up fails), modules depend
//! on each other one way only (no import circle, within a folder or between top-level modules), the
//! local stack (`lab-local`) never depends on lab, the load generator (`lab-load`) on neither, and
//! the handler on none of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as (module path, source without its `#[cfg(test)]` tail).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(dir).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        if parts.first().is_some_and(|p| p == "bin") {
            continue; // binaries use the library; nothing uses them
        }
        let source = std::fs::read_to_string(&file).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap_or("").to_string();
        out.insert(parts.join("::"), code);
    }
    out
}

/// The paths a source names from `crate::`, `super::` or `self::`, with `use` groups expanded
/// (`use crate::{a, b::{c, d}}` names `crate::a`, `crate::b::c` and `crate::b::d`).
fn paths(code: &str) -> Vec<Vec<String>> {
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| l.chars().chain([' ']))
        .collect();
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"]
        .iter()
        .flat_map(|k| code.match_indices(k).map(|(i, _)| i))
    {
        let inside = start > 0 && is_ident(bytes[start - 1])
            || start > 1 && &bytes[start - 2..start] == b"::";
        if !inside {
            tree(bytes, start, Vec::new(), &mut out);
        }
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The first position at or after `pos` that is not white space.
fn skip_space(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

/// Reads one use tree at `pos` under `prefix`, pushing every full path; returns where it ended.
fn tree(
    bytes: &[u8],
    mut pos: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        pos = skip_space(bytes, pos);
        let from = pos;
        while bytes.get(pos).copied().is_some_and(is_ident) {
            pos += 1;
        }
        if pos > from {
            prefix.push(String::from_utf8_lossy(&bytes[from..pos]).into_owned());
        }
        pos = skip_space(bytes, pos);
        if !bytes[pos..].starts_with(b"::") {
            out.push(prefix);
            return pos;
        }
        pos = skip_space(bytes, pos + 2);
        if bytes.get(pos) != Some(&b'{') {
            continue;
        }
        pos += 1;
        loop {
            pos = skip_space(bytes, pos);
            if bytes.get(pos) == Some(&b'}') {
                return pos + 1;
            }
            pos = skip_space(bytes, tree(bytes, pos, prefix.clone(), out));
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => return pos + 1,
                _ => return pos,
            }
        }
    }
}

/// The modules `module` depends on: every path it names, resolved to the longest known module,
/// leaving out its own parents and children (its parts, not a dependency that can circle).
fn dependencies(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let own: Vec<&str> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").collect()
    };
    let resolve = |path: &[String]| -> Option<String> {
        let mut base: Vec<&str> = match path.first().map(String::as_str) {
            Some("crate") => vec![],
            Some("self") => own.clone(),
            Some("super") => own[..own.len().saturating_sub(1)].to_vec(),
            _ => return None,
        };
        let mut rest = &path[1..];
        while rest.first().is_some_and(|p| p == "super") {
            base.pop();
            rest = &rest[1..];
        }
        (1..=rest.len()).rev().find_map(|n| {
            let mut parts: Vec<&str> = base.clone();
            parts.extend(rest[..n].iter().map(String::as_str));
            let candidate = parts.join("::");
            known.contains(&candidate).then_some(candidate)
        })
    };
    paths(code)
        .iter()
        .filter_map(|p| resolve(p))
        .filter(|target| {
            target != module
                && !module.starts_with(&format!("{target}::"))
                && !target.starts_with(&format!("{module}::"))
        })
        .collect()
}

/// The strongly connected components with more than one module (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let low = s.low[v].min(s.low[w.as_str()]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w.as_str()) {
                let low = s.low[v].min(s.index[w.as_str()]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// ARCHITECTURE.md §1's table: every top-level module of lab and what it may use (`lab_local` is
/// the local stack's crate, `lab_load` the load generator's). Keep the two in step: a new module or arrow goes in both.
const ALLOWED: &[(&str, &[&str])] = &[
    ("app", &["cli", "commands", "exit", "output"]),
    (
        "commands",
        &[
            "arch",
            "aws",
            "call",
            "cli",
            "control",
            "exit",
            "lab_local",
            "load",
            "local_stack",
            "output",
            "package",
            "report",
            "session",
            "stack",
            "tune",
        ],
    ),
    (
        "session",
        &[
            "aws",
            "call",
            "cli",
            "lab_local",
            "local_cpu",
            "local_stack",
            "output",
            "stack",
        ],
    ),
    ("local_stack", &["cli", "lab_local", "output"]),
    (
        "cli",
        &[
            "arch",
            "call",
            "flag_defaults",
            "load",
            "output",
            "stack",
            "tune",
        ],
    ),
    (
        "load",
        &[
            "arch",
            "aws",
            "control",
            "exit",
            "flag_defaults",
            "lab_load",
            "local_cpu",
            "package",
            "report",
            "stack",
            "tune",
        ],
    ),
    (
        "tune",
        &[
            "arch",
            "control",
            "exit",
            "flag_defaults",
            "lab_load",
            "local_cpu",
            "report",
        ],
    ),
    ("call", &["aws", "lab_load", "stack"]),
    ("control", &["arch", "aws", "lab_load", "package", "stack"]),
    ("stack", &["arch", "aws", "package"]),
    ("package", &["arch"]),
    ("report", &[]),
    ("output", &[]),
    ("aws", &[]),
    ("arch", &[]),
    ("exit", &[]),
    ("local_cpu", &["lab_local"]),
    ("flag_defaults", &[]),
];

/// Collapses a module graph to its top-level modules, adding `lab_local` and `lab_load` where a
/// module's code names the local stack's or the load generator's crate.
fn top_level(
    graph: &BTreeMap<String, BTreeSet<String>>,
    sources: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let head = |p: &str| p.split("::").next().unwrap_or("").to_string();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in graph {
        let entry = top.entry(head(m)).or_default();
        entry.extend(deps.iter().map(|d| head(d)).filter(|d| *d != head(m)));
        for krate in ["lab_local", "lab_load"] {
            if sources.get(m).is_some_and(|code| code.contains(&format!("{krate}::"))) {
                entry.insert(krate.to_string());
            }
        }
    }
    top.remove("");
    top
}

/// Every arrow of `top` the table does not allow, and every module the table does not place.
fn violations(
    top: &BTreeMap<String, BTreeSet<String>>,
    allowed: &[(&str, &[&str])],
) -> Vec<String> {
    let table: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    let mut out = Vec::new();
    for (module, deps) in top {
        let Some(may) = table.get(module.as_str()) else {
            out.push(format!("{module} is not in the table"));
            continue;
        };
        out.extend(
            deps.iter()
                .filter(|d| !may.contains(&d.as_str()))
                .map(|d| format!("{module} -> {d} is not allowed")),
        );
    }
    out
}

fn sources(dir: &str) -> BTreeMap<String, String> {
    modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
}

fn graph(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir));
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(m, code)| (m.clone(), dependencies(m, code, &known)))
        .collect()
}

#[test]
fn the_checker_finds_a_circle_and_resolves_paths() {
    let known: BTreeSet<String> =
        ["a", "a::x", "a::y", "b"].iter().map(|s| s.to_string()).collect();
    let x = dependencies(
        "a::x",
        "use super::y::Thing;\nuse crate::{b, a::y};",
        &known,
    );
    assert_eq!(x, ["a::y", "b"].iter().map(|s| s.to_string()).collect());
    let mut g = BTreeMap::new();
    g.insert("a::x".to_string(), x);
    g.insert(
        "a::y".to_string(),
        dependencies("a::y", "fn f() { crate::a::x::g() }", &known),
    );
    g.insert("b".to_string(), BTreeSet::new());
    assert_eq!(
        circles(&g),
        vec![vec!["a::x".to_string(), "a::y".to_string()]]
    );
}

#[test]
fn lab_has_no_import_circles() {
    let g = graph("src");
    let edges: usize = g.values().map(BTreeSet::len).sum();
    eprintln!("{} modules, {edges} dependencies", g.len());
    assert!(
        g.len() > 70 && edges > 200,
        "read {} modules, {edges} dependencies",
        g.len()
    );
    assert_eq!(circles(&g), Vec::<Vec<String>>::new());
    // Between top-level modules too (`load` -> `stack` -> `load` through any of their parts).
    assert_eq!(
        circles(&top_level(&g, &sources("src"))),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn lab_uses_only_what_the_dependency_table_allows() {
    let top = top_level(&graph("src"), &sources("src"));
    assert!(top.len() >= ALLOWED.len(), "read {} modules", top.len());
    assert_eq!(violations(&top, ALLOWED), Vec::<String>::new());
    // Every allowance is used: the table says what the code does, not what it once did.
    let unused: Vec<String> = ALLOWED
        .iter()
        .flat_map(|(m, may)| may.iter().map(move |d| (*m, *d)))
        .filter(|(m, d)| !top.get(*m).is_some_and(|deps| deps.contains(*d)))
        .map(|(m, d)| format!("{m} -> {d}"))
        .collect();
    assert_eq!(unused, Vec::<String>::new(), "allowed but unused");
}

#[test]
fn the_table_catches_an_arrow_pointing_up() {
    let mut top = top_level(&graph("src"), &sources("src"));
    // As if `stack` imported `commands`, or `aws` the local stack: both point back up.
    top.get_mut("stack").unwrap().insert("commands".into());
    top.get_mut("aws").unwrap().insert("lab_local".into());
    top.insert("newcomer".into(), BTreeSet::new());
    assert_eq!(
        violations(&top, ALLOWED),
        [
            "aws -> lab_local is not allowed",
            "newcomer is not in the table",
            "stack -> commands is not allowed"
        ]
    );
}

#[test]
fn the_local_stack_has_no_import_circles_and_never_uses_lab() {
    let g = graph("local/src");
    assert!(g.len() > 20, "read {} modules", g.len());
    assert_eq!(circles(&g), Vec::<Vec<String>>::new());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("local/Cargo.toml")).unwrap();
    assert!(
        !manifest.lines().any(|l| l.trim_start().starts_with("lab ")),
        "{manifest}"
    );
    let local = sources("local/src");
    let naming_lab: Vec<&String> = local
        .iter()
        .filter(|(_, code)| code.contains("lab::"))
        .map(|(m, _)| m)
        .collect();
    assert!(naming_lab.is_empty(), "{naming_lab:?}");
}

#[test]
fn the_load_generator_has_no_import_circles_and_never_uses_lab_or_the_local_stack() {
    let g = graph("load/src");
    assert!(g.len() > 12, "read {} modules", g.len());
    assert_eq!(circles(&g), Vec::<Vec<String>>::new());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("load/Cargo.toml")).unwrap();
    let names_ours = |l: &str| ["lab ", "lab-local ", "handler "].iter().any(|c| l.starts_with(c));
    assert!(
        !manifest.lines().any(|l| names_ours(l.trim_start())),
        "{manifest}"
    );
    // Its binary too: the worker's bootstrap links this crate alone of ours.
    let mut load = sources("load/src");
    load.insert(
        "bin".into(),
        std::fs::read_to_string(root.join("load/src/bin/lab-load-worker.rs")).unwrap(),
    );
    let naming_ours: Vec<&String> = load
        .iter()
        .filter(|(_, code)| ["lab::", "lab_local::", "handler::"].iter().any(|c| code.contains(c)))
        .map(|(m, _)| m)
        .collect();
    assert!(naming_ours.is_empty(), "{naming_ours:?}");
}

#[test]
fn the_handler_has_no_import_circles_and_never_uses_lab() {
    let g = graph("handler/src");
    assert!(g.len() > 5, "read {} modules", g.len());
    assert_eq!(circles(&g), Vec::<Vec<String>>::new());
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("handler/Cargo.toml"))
            .unwrap();
    assert!(
        !manifest.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("lab ") || l.starts_with("lab-local ") || l.starts_with("lab-load ")
        }),
        "{manifest}"
    );
}
