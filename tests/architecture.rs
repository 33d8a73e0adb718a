//! The library's shape: its top-level modules depend on each other without cycles (a module's
//! non-test code naming `crate::other` is a dependency), and the command line is not part of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn sources(p: &Path, out: &mut Vec<String>) {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            sources(&e.path(), out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        let text = std::fs::read_to_string(p).unwrap();
        // unit tests may reach anywhere
        out.push(text.split("#[cfg(test)]").next().unwrap_or("").to_string());
    }
}

#[test]
fn library_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            match name.strip_suffix(".rs") {
                Some("lib" | "main") => None,
                Some(stem) => Some(stem.to_string()),
                None if e.path().is_dir() && name != "cli" => Some(name),
                None => None,
            }
        })
        .collect();
    modules.sort();
    assert!(modules.len() > 10, "{modules:?}");
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for m in &modules {
        let mut texts = Vec::new();
        let dir = src.join(m);
        if dir.is_dir() {
            sources(&dir, &mut texts);
        } else {
            sources(&src.join(format!("{m}.rs")), &mut texts);
        }
        let uses: BTreeSet<&str> = modules
            .iter()
            .filter(|o| *o != m)
            .filter(|o| {
                let key = format!("crate::{o}");
                texts.iter().any(|t| {
                    t.match_indices(&key).any(|(i, _)| {
                        !t[i + key.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                })
            })
            .map(String::as_str)
            .collect();
        deps.insert(m, uses);
    }
    // depth-first search for a back edge
    fn visit<'a>(
        m: &'a str,
        deps: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m);
            return Some(cycle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for d in &deps[m] {
            if let Some(c) = visit(d, deps, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        let cycle = visit(m, &deps, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "module cycle: {}",
            cycle.unwrap().join(" → ")
        );
    }
    assert!(
        !deps["cohort"].is_empty() && deps["digest"].is_empty(),
        "{deps:?}"
    );
}

#[test]
fn the_library_never_names_the_command_line() {
    let mut texts = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if e.file_name() != "cli" && e.file_name() != "main.rs" {
            sources(&e.path(), &mut texts);
        }
    }
    assert!(texts.len() > 50);
    for t in &texts {
        assert!(
            !t.contains("crate::cli") && !t.contains("anyhow::"),
            "the library uses cli/anyhow"
        );
    }
}
