//! The shape of a request, checked on the source (this module is compiled only for tests):
//!
//! - the direction of the dependencies: a server module never imports a page or a component.
//!   Views call server functions, server functions call the server; the other way round, the
//!   server would depend on browser code, and following a request would mean opening every
//!   folder. Every file under `src/server/` is read and each path that starts with `crate::`,
//!   `super::` or `self::` (inside `use` groups too) is resolved from the crate root; a path
//!   into `crate::pages` or `crate::components` is reported with its file and line. Comments
//!   are skipped: a doc may name a component.
//! - the user check in one place: every server function (in the shared modules) calls
//!   `require` with the access its route's rule in [`policy::RULES`] names, before its first
//!   `.await`, so the server services it calls can trust their caller. The gate applies the
//!   same rule to the request first; this keeps the two from drifting apart.

use std::path::{Path, PathBuf};

use super::auth::policy;

/// The top modules the server must not reach.
const FORBIDDEN: [&str; 2] = ["pages", "components"];

/// One import of a view from server code.
#[derive(Debug, PartialEq)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    /// The path as resolved from the crate root, e.g. `crate::pages::journeys::link`.
    pub path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: imports {}", self.file, self.line, self.path)
    }
}

/// The module path of a source file, e.g. `src/server/journey/compare.rs` →
/// `["server", "journey", "compare"]` (`mod.rs` names its folder).
pub fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().map(String::as_str) == Some("src") {
        parts.remove(0);
    }
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// `path` (`crate::…`, `super::…`, `self::…`) from the crate root, or `None` for paths that
/// start elsewhere (external crates, local names).
fn resolve(module: &[String], path: &str) -> Option<Vec<String>> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (&first, rest) = segments.split_first()?;
    let mut base: Vec<String> = match first {
        "crate" => Vec::new(),
        "super" | "self" => module.to_vec(),
        _ => return None,
    };
    let mut rest = rest;
    if first == "super" {
        base.pop();
    }
    while let Some((&"super", tail)) = rest.split_first() {
        base.pop();
        rest = tail;
    }
    base.extend(rest.iter().map(|s| s.to_string()));
    Some(base)
}

/// Expands a `use` tree (`crate::{a::b, c::{d, e}}`) into its full paths.
/// A rename (`x as y`) is kept as `x@y`.
fn expand_use(tree: &str) -> Vec<String> {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let tree: String = words.join(" ").replace(" as ", "@").replace(' ', "");
    let mut out = Vec::new();
    expand_into("", &tree, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        out.push(format!("{prefix}{tree}"));
        return;
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let inner = tree[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                expand_into(&head, &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        expand_into(&head, &inner[start..], out);
    }
}

/// The code of a line without its `//` comment (a `//` inside a string literal is rare enough
/// in this code base to ignore).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// Whether a resolved path goes into a view module.
fn forbidden(path: &[String]) -> bool {
    path.first()
        .is_some_and(|top| FORBIDDEN.contains(&top.as_str()))
}

/// Every import of a view in `source`, the text of the file `file` (for the messages) whose
/// module path is `module`.
pub fn violations(file: &str, module: &[String], source: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut report = |line: usize, path: Vec<String>| {
        if forbidden(&path) {
            found.push(Violation {
                file: file.to_string(),
                line,
                path: format!("crate::{}", path.join("::")),
            });
        }
    };
    // A `use` statement may span lines: gather it up to its `;`.
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in source.lines().enumerate() {
        let number = index + 1;
        let code = code_of(raw);
        let trimmed = code.trim_start();
        let statement = match pending.take() {
            Some((start, mut text)) => {
                text.push_str(code);
                Some((start, text))
            }
            None => {
                let after_vis = trimmed
                    .strip_prefix("pub(crate) ")
                    .or_else(|| trimmed.strip_prefix("pub(super) "))
                    .or_else(|| trimmed.strip_prefix("pub "))
                    .unwrap_or(trimmed);
                after_vis
                    .strip_prefix("use ")
                    .map(|rest| (number, rest.to_string()))
            }
        };
        if let Some((start, text)) = statement {
            match text.find(';') {
                Some(end) => {
                    for path in expand_use(&text[..end]) {
                        let path = path.split('@').next().unwrap_or(&path).to_string();
                        if let Some(resolved) = resolve(module, &path) {
                            report(start, resolved);
                        }
                    }
                }
                None => pending = Some((start, text)),
            }
            continue;
        }
        // Paths in expressions and types: every run of path characters that starts with
        // `crate::`, `super::` or `self::`.
        let mut rest = code;
        while let Some(at) = ["crate::", "super::", "self::"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min()
        {
            let preceded_by_ident = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !preceded_by_ident && let Some(resolved) = resolve(module, &tail[..len]) {
                report(number, resolved);
            }
            rest = &tail[len.max(1)..];
        }
    }
    found
}

/// One server function as its source declares it.
#[derive(Debug, PartialEq)]
pub struct ServerFn {
    pub endpoint: String,
    pub name: String,
    /// The line of its `#[server]` attribute.
    pub line: usize,
    pub body: String,
}

/// Every `#[server(endpoint = "...")]` function in `source`, with its body.
pub fn server_fns(source: &str) -> Vec<ServerFn> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(at) = source[offset..].find("server(endpoint = \"") {
        let start = offset + at;
        offset = start + 1;
        let attr_line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let attr = source[attr_line_start..start].trim();
        if attr != "#[" && attr != "#[leptos::" {
            continue;
        }
        let name_start = start + "server(endpoint = \"".len();
        let Some(name_len) = source[name_start..].find('"') else {
            continue;
        };
        let endpoint = source[name_start..name_start + name_len].to_string();
        let Some(fn_at) = source[name_start..].find("fn ").map(|i| name_start + i + 3) else {
            continue;
        };
        let name: String = source[fn_at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = source[fn_at..].find('{').map(|i| fn_at + i) else {
            continue;
        };
        let mut depth = 0usize;
        let mut end = source.len();
        for (i, c) in source[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        found.push(ServerFn {
            endpoint,
            name,
            line: source[..start].lines().count(),
            body: source[open..end].to_string(),
        });
    }
    found
}

/// The access a server function's body asks `require` for, as [`policy::Access`]'s `Debug`
/// writes it (`View(Journeys)`), if it asks before its first `.await`.
pub fn required_access(body: &str) -> Option<String> {
    let at = body.find("require(")?;
    if body.find(".await").is_some_and(|awaited| awaited < at) {
        return None;
    }
    let args = &body[at + "require(".len()..];
    let mut depth = 0usize;
    let mut end = args.len();
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let mut access: String = args[..end].chars().filter(|c| !c.is_whitespace()).collect();
    for prefix in [
        "crate::server::auth::",
        "policy::",
        "Access::",
        "View::",
        "Edit::",
    ] {
        access = access.replace(prefix, "");
    }
    Some(access)
}

/// The access the route `POST /api/{endpoint}` requires in [`policy::RULES`].
fn rule_access(endpoint: &str) -> Option<policy::Access> {
    let path = format!("/api/{endpoint}");
    policy::RULES
        .iter()
        .find(|r| r.method == "POST" && r.pattern == path && r.kind == policy::Kind::ServerFn)
        .map(|r| r.access)
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &str) -> Vec<String> {
        module_of(Path::new(path))
    }

    #[test]
    fn no_server_module_imports_a_page_or_a_component() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = rust_files(&root.join("src/server")).expect("src/server is readable");
        files.push(root.join("src/server.rs"));
        // This file's own tests hold violations on purpose, as text.
        files.retain(|f| !f.ends_with("src/server/architecture.rs"));
        assert!(
            files.len() > 50,
            "the check found only {} files",
            files.len()
        );
        let mut all = Vec::new();
        for file in files {
            let relative = file.strip_prefix(root).expect("under the crate root");
            let source = std::fs::read_to_string(&file).expect("readable source");
            let name = relative.display().to_string();
            all.extend(violations(&name, &module_of(relative), &source));
        }
        let list: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert!(
            list.is_empty(),
            "server code must not import pages or components (move what it needs to the \
             shared types or to the server):\n{}",
            list.join("\n")
        );
    }

    #[test]
    fn module_paths_follow_the_file_layout() {
        assert_eq!(
            module("src/server/journey/compare.rs"),
            ["server", "journey", "compare"]
        );
        assert_eq!(module("src/server.rs"), ["server"]);
        assert_eq!(module("src/server/kpi/mod.rs"), ["server", "kpi"]);
    }

    #[test]
    fn a_full_path_in_an_expression_is_found_with_its_line() {
        let source =
            "fn f() {}\nfn g(p: &P) -> String {\n    crate::pages::journeys::pain_title(p)\n}\n";
        let found = violations("x.rs", &module("src/server/journey/compare.rs"), source);
        assert_eq!(
            found,
            [Violation {
                file: "x.rs".into(),
                line: 3,
                path: "crate::pages::journeys::pain_title".into()
            }]
        );
    }

    #[test]
    fn use_groups_over_several_lines_are_expanded() {
        let source = "use crate::{\n    format,\n    components::{chart::Chart, table},\n};\n";
        let found = violations("x.rs", &module("src/server/charts.rs"), source);
        let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "crate::components::chart::Chart",
                "crate::components::table"
            ]
        );
        assert!(found.iter().all(|v| v.line == 1));
    }

    #[test]
    fn super_paths_are_resolved_from_the_file_module() {
        let module = module("src/server/dashboard/detail.rs");
        // super::super is crate::server; one more reaches the crate root.
        let bad = violations(
            "x.rs",
            &module,
            "use super::super::super::pages::kpi_detail;\n",
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].path, "crate::pages::kpi_detail");
        let fine = violations("x.rs", &module, "use super::super::kpi::pages;\n");
        assert!(fine.is_empty(), "{fine:?}");
        let group = violations(
            "x.rs",
            &module,
            "use super::{super::super::components::x};\n",
        );
        assert_eq!(group.len(), 1);
    }

    #[test]
    fn shared_modules_comments_and_renames_are_fine() {
        let module = module("src/server/journey/notes.rs");
        let source = "use crate::journey::server_fns::PainNote;\n\
                      // crate::pages::journeys shows these\n\
                      /// See [`crate::components::chart`].\n\
                      use crate::i18n::Msg as M;\n\
                      let x = my_crate::pages::y;\n";
        assert!(violations("x.rs", &module, source).is_empty());
        let renamed = violations("x.rs", &module, "use crate::pages as p;\n");
        assert_eq!(renamed.len(), 1);
    }
    #[test]
    fn every_server_function_checks_the_user_as_its_route_rule_says() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files: Vec<PathBuf> = rust_files(&root.join("src"))
            .expect("src is readable")
            .into_iter()
            .filter(|f| !f.starts_with(root.join("src/server")))
            .collect();
        let mut problems = Vec::new();
        let mut count = 0;
        for file in files {
            let source = std::fs::read_to_string(&file).expect("readable source");
            let name = file
                .strip_prefix(root)
                .expect("under the crate root")
                .display();
            for f in server_fns(&source) {
                count += 1;
                let Some(rule) = rule_access(&f.endpoint) else {
                    problems.push(format!(
                        "{name}:{}: {} has no rule in RULES",
                        f.line, f.name
                    ));
                    continue;
                };
                let asked = required_access(&f.body);
                let expected = format!("{rule:?}");
                // A public route has nothing to check (who the visitor is).
                let fine = match (&asked, rule) {
                    (None, policy::Access::Public) => true,
                    (Some(asked), _) => *asked == expected,
                    (None, _) => false,
                };
                if !fine {
                    problems.push(format!(
                        "{name}:{}: {} must call require({expected}, ..) before any .await \
                         (found {asked:?})",
                        f.line, f.name
                    ));
                }
            }
        }
        assert!(count >= 20, "the check found only {count} server functions");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_server_function_without_its_check_is_caught() {
        let source = r#"
#[leptos::server(endpoint = "admin_users")]
pub async fn admin_users() -> Result<UsersPage, AppError> {
    crate::server::admin::users_page().await
}

#[server(endpoint = "kpi_detail")]
pub async fn fetch_kpi_detail(key: String) -> Result<KpiDetail, AppError> {
    let state = expect_context::<AppState>();
    let detail = load(&state.db, key).await?;
    auth::require(policy::Access::View(policy::View::Company), None)?;
    Ok(detail)
}

#[leptos::server(endpoint = "department_view")]
pub async fn fetch_department_view(department: String) -> Result<DepartmentView, AppError> {
    let who = auth::require(
        policy::Access::View(policy::View::Department),
        Some(&department),
    )?;
    if who.ok() { Ok(load().await?) } else { Err(AppError::Internal) }
}
"#;
        let fns = server_fns(source);
        let names: Vec<&str> = fns.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["admin_users", "fetch_kpi_detail", "fetch_department_view"]
        );
        assert_eq!(fns[0].line, 2);
        assert_eq!(required_access(&fns[0].body), None, "no check at all");
        assert_eq!(
            required_access(&fns[1].body),
            None,
            "a check after the work"
        );
        assert_eq!(
            required_access(&fns[2].body).as_deref(),
            Some("View(Department)")
        );
        assert_eq!(
            rule_access("department_view")
                .map(|a| format!("{a:?}"))
                .as_deref(),
            Some("View(Department)")
        );
    }
}
