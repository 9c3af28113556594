//! The shape of the code: the modules of `shared/src` depend on each other without a cycle,
//! read from their `crate::` and `super::` paths (a name a parent module re-exports counts as
//! a use of the module that defines it; test modules are left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tests::emulator::workspace_root;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every module of the crate at `src`, by path (`domain::service`), with its source.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Comments name modules without using them.
            let text: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| format!("{line}\n"))
                .collect();
            // Test modules depend on what they test: not part of the graph.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            found.insert(parts.join("::"), code);
        }
    }
    found
}

/// The names `module` re-exports from its children (`pub use child::{A, B}`), with the child.
fn reexports(module: &str, code: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in code.split("pub use ").skip(1) {
        let statement = statement.split(';').next().unwrap_or_default();
        let Some((child, list)) = statement.split_once("::") else { continue };
        let list = list.trim().trim_start_matches('{').trim_end_matches('}');
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.split(" as ").last().unwrap_or(name).trim();
            let child = if module.is_empty() { child.to_owned() } else { format!("{module}::{child}") };
            names.insert(name.to_owned(), child);
        }
    }
    names
}

/// The module graph: an edge from each module to every other module a path in it names.
fn graph(modules: &BTreeMap<String, String>) -> Graph {
    let exported: BTreeMap<&str, BTreeMap<String, String>> =
        modules.iter().map(|(m, code)| (m.as_str(), reexports(m, code))).collect();
    let mut graph = Graph::new();
    for (module, code) in modules {
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let mut uses = BTreeSet::new();
        for (prefix, base) in [("crate::", ""), ("super::", parent)] {
            for occurrence in code.split(prefix).skip(1) {
                let path: String = occurrence
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || "_:{},  ".contains(*c))
                    .collect();
                let (head, group) = match path.split_once('{') {
                    Some((head, group)) => (head, group.split('}').next().unwrap_or_default()),
                    None => (path.as_str(), ""),
                };
                let segments: Vec<&str> = head.split("::").map(str::trim).filter(|s| !s.is_empty()).collect();
                let names: Vec<&str> =
                    group.split(',').map(|n| n.trim().split("::").next().unwrap_or("")).collect();
                for name in names.iter().copied().chain([""]) {
                    let mut full: Vec<&str> = segments.clone();
                    if !name.is_empty() {
                        full.push(name);
                    }
                    if let Some(target) = resolve(base, &full, modules, &exported) {
                        if target != *module && !module.starts_with(&format!("{target}::")) {
                            uses.insert(target);
                        }
                    }
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The module a path from `base` names: its longest prefix that is a module, or, for a name a
/// module re-exports, the module that defines it.
fn resolve(
    base: &str,
    path: &[&str],
    modules: &BTreeMap<String, String>,
    exported: &BTreeMap<&str, BTreeMap<String, String>>,
) -> Option<String> {
    let join = |n: usize| {
        let tail = path[..n].join("::");
        match (base.is_empty(), tail.is_empty()) {
            (true, _) => tail,
            (false, true) => base.to_owned(),
            (false, false) => format!("{base}::{tail}"),
        }
    };
    for n in (0..=path.len()).rev() {
        let candidate = join(n);
        if !modules.contains_key(&candidate) {
            continue;
        }
        if let Some(child) = path.get(n).and_then(|name| exported.get(candidate.as_str())?.get(*name)) {
            return Some(child.clone());
        }
        // The crate root or a parent named without an item: not a use of anything.
        return (!candidate.is_empty() && n == path.len() || n > 0).then_some(candidate);
    }
    None
}

/// A cycle of `graph`, if it has one, as the modules around it.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_shared_crate_has_no_import_cycle() {
    let modules = modules(&workspace_root().join("shared/src"));
    assert!(modules.contains_key("domain::service") && modules.contains_key("http"), "{:?}", modules.keys());
    let graph = graph(&modules);
    assert!(graph["http"].contains("idempotency") && graph["domain::lifecycle"].contains("domain::service"));
    if let Some(found) = cycle(&graph) {
        panic!("an import cycle in shared/src: {}", found.join(" -> "));
    }
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut modules = BTreeMap::new();
    modules.insert("a".to_owned(), "use crate::b::Thing;".to_owned());
    modules.insert("b".to_owned(), "use crate::c::{self, Other};".to_owned());
    modules.insert("c".to_owned(), "fn f() -> crate::a::Thing { todo!() }".to_owned());
    let abc = graph(&modules);
    assert_eq!(cycle(&abc), Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
    modules.insert("c".to_owned(), "use super::d;".to_owned());
    assert_eq!(cycle(&graph(&modules)), None);
    // A name a parent re-exports is a use of the child that defines it.
    let mut nested = BTreeMap::new();
    nested.insert("d".to_owned(), "pub mod x;\npub mod y;\npub use x::Thing;".to_owned());
    nested.insert("d::x".to_owned(), "use super::y::Other;".to_owned());
    nested.insert("d::y".to_owned(), "use super::{Thing};".to_owned());
    let found = cycle(&graph(&nested)).expect("x -> y -> x through the parent's re-export");
    assert!(found.contains(&"d::x".to_owned()) && found.contains(&"d::y".to_owned()), "{found:?}");
}
