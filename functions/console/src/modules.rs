//! The console's ES modules under names carrying their content's hash. A module imports another
//! by its plain name (`import { api } from './api.js'`); served, each of those imports names the
//! other's hashed file instead (`'./api.1f2e….js'`), and a module's hash is taken after that
//! renaming, so a changed module changes the names of every module that imports it, directly or
//! not, and a cached importer never loads a dependency of another version.

use std::collections::BTreeMap;

/// A module as served: its hashed file name (`api.1f2e3d4c5b6a7980.js`) and its text.
pub struct Fingerprinted {
    pub file: String,
    pub body: String,
}

/// Every module of `modules` (plain name, text) by its plain name, fingerprinted, its imports of
/// the others renamed. An import is the other's name quoted with `./` (`'./api.js'` or
/// `"./api.js"`), the only way the modules name each other. Panics on an import cycle (the
/// modules are compiled in: a test of the real ones catches it).
pub fn fingerprint<'a>(modules: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, Fingerprinted> {
    let mut done = BTreeMap::new();
    for module in modules {
        fingerprint_one(*module, modules, &mut done, &mut Vec::new());
    }
    done
}

/// Fingerprints a module after what it imports (depth first); `importers` is the chain of
/// modules under way, where the module showing up again is a cycle.
fn fingerprint_one<'a>(
    (name, source): (&'a str, &'a str),
    modules: &[(&'a str, &'a str)],
    done: &mut BTreeMap<&'a str, Fingerprinted>,
    importers: &mut Vec<&'a str>,
) {
    if done.contains_key(name) {
        return;
    }
    assert!(!importers.contains(&name), "an import cycle: {} -> {name}", importers.join(" -> "));
    let imported: Vec<(&str, &str)> = modules.iter().copied().filter(|(n, _)| imports(source, n)).collect();
    importers.push(name);
    for dependency in &imported {
        fingerprint_one(*dependency, modules, done, importers);
    }
    importers.pop();
    let body = imported.iter().fold(source.to_owned(), |text, (dependency, _)| {
        let renamed = specifiers(dependency).into_iter().zip(specifiers(&done[dependency].file));
        renamed.fold(text, |text, (plain, hashed)| text.replace(&plain, &hashed))
    });
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, "js"));
    let file = format!("{stem}.{}.{extension}", crate::hash(&body));
    done.insert(name, Fingerprinted { file, body });
}

fn imports(source: &str, name: &str) -> bool {
    specifiers(name).iter().any(|specifier| source.contains(specifier.as_str()))
}

/// How a module names the file `name` it imports: `'./api.js'` or `"./api.js"`.
fn specifiers(name: &str) -> [String; 2] {
    ['\'', '"'].map(|q| format!("{q}./{name}{q}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "export const api = () => 1;\n";
    const UI: &str = "import { api } from './api.js';\nexport const ui = api;\n";
    const PAGE: &str = "import { ui } from \"./ui.js\";\nimport { api } from './api.js';\n";
    const OTHER: &str = "export const other = 2;\n";

    fn files(modules: &[(&'static str, &'static str)]) -> BTreeMap<&'static str, String> {
        fingerprint(modules).into_iter().map(|(name, module)| (name, module.file)).collect()
    }

    #[test]
    fn imports_name_the_hashed_files_of_what_they_import() {
        let served = fingerprint(&[("page.js", PAGE), ("ui.js", UI), ("api.js", API)]);
        let (api, ui) = (&served["api.js"].file, &served["ui.js"].file);
        assert!(
            api.starts_with("api.") && api.ends_with(".js") && api.len() == "api..js".len() + 16,
            "{api}"
        );
        assert_eq!(served["api.js"].body, API, "a module that imports nothing is served as it is");
        assert_eq!(
            served["ui.js"].body,
            format!("import {{ api }} from './{api}';\nexport const ui = api;\n")
        );
        assert_eq!(
            served["page.js"].body,
            format!("import {{ ui }} from \"./{ui}\";\nimport {{ api }} from './{api}';\n")
        );
    }

    #[test]
    fn a_changed_dependency_changes_the_names_of_its_importers_only() {
        let before = files(&[("page.js", PAGE), ("ui.js", UI), ("api.js", API), ("other.js", OTHER)]);
        let changed = "export const api = () => 2;\n";
        let after = files(&[("page.js", PAGE), ("ui.js", UI), ("api.js", changed), ("other.js", OTHER)]);
        for name in ["api.js", "ui.js", "page.js"] {
            assert_ne!(before[name], after[name], "{name} imports api.js, directly or not");
        }
        assert_eq!(before["other.js"], after["other.js"], "other.js imports nothing that changed");
    }

    #[test]
    fn the_order_of_the_table_does_not_change_the_names() {
        let one = files(&[("page.js", PAGE), ("ui.js", UI), ("api.js", API)]);
        let other = files(&[("api.js", API), ("ui.js", UI), ("page.js", PAGE)]);
        assert_eq!(one, other);
    }

    #[test]
    #[should_panic(expected = "an import cycle: a.js -> b.js -> a.js")]
    fn an_import_cycle_is_refused() {
        fingerprint(&[("a.js", "import './b.js';\n"), ("b.js", "import './a.js';\n")]);
    }

    #[test]
    fn the_consoles_modules_import_each_other_without_a_cycle() {
        let served = fingerprint(&crate::MODULES);
        assert_eq!(served.len(), crate::MODULES.len());
    }
}
