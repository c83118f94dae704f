//! kiln's output equals `nix-instantiate --parse` for every `.nix` file in the repository
//! (`tests/`, `profiles/`, the Nix-language `lib` under `crates/`). `let` bindings and formals are compared as sets (Nix prints them in
//! symbol-table address order). Where Nix fails, kiln must fail too.
use super::repo_root;
use std::path::{Path, PathBuf};

pub(super) fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "fuzz" && name != ".git" {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "nix") {
            out.push(path);
        }
    }
}

fn kiln(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|err| err.to_string())?;
    let text = kiln_syntax::decode_source(&path.display().to_string(), bytes)
        .map_err(|err| err.to_string())?;
    let mut sources = kiln_syntax::SourceMap::new();
    let file = sources.add_file(path, text);
    let expr = kiln_syntax::parse(&sources, file).map_err(|err| err.to_string())?;
    kiln_syntax::check_scopes(&sources, &expr).map_err(|err| err.to_string())?;
    Ok(kiln_syntax::print_expr(&expr))
}

#[test]
fn kiln_parse_matches_nix_instantiate() {
    if !kiln_testkit::slow("kiln_parse_matches_nix_instantiate", &["nix-instantiate"]) {
        return;
    }
    let root = repo_root().canonicalize().expect("repository root");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f.starts_with(root.join("crates"))),
        "the Nix files under crates/ must be covered"
    );
    assert!(!files.is_empty(), "no .nix files found");
    let mut failures = Vec::new();
    for path in &files {
        let output = kiln_testkit::nix_instantiate()
            .arg("--parse")
            .arg(path)
            .output()
            .expect("KILN_SLOW_TESTS=1 needs nix-instantiate (Debian: apt-get install nix-bin)");
        let nix = output.status.success().then(|| {
            String::from_utf8_lossy(&output.stdout)
                .trim_end_matches('\n')
                .to_string()
        });
        let ours = kiln(path);
        match (nix, ours) {
            (None, Err(ours)) => {
                let nix = first_error_line(&String::from_utf8_lossy(&output.stderr));
                let ours = ours.lines().next().unwrap_or_default().to_string();
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if !same_first_line(&nix, &ours) && !KNOWN_WORDING.iter().any(|(n, _)| *n == name) {
                    failures.push(format!(
                        "{}: the first lines differ\n  nix:  {nix}\n  kiln: {ours}",
                        path.display()
                    ));
                }
            }
            (Some(nix), Ok(ours)) if normalize_lets(&nix) == normalize_lets(&ours) => {}
            (nix, ours) => failures.push(format!(
                "{}:\n  nix:  {nix:?}\n  kiln: {ours:?}",
                path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("{} files agree with nix-instantiate --parse", files.len());
}

/// Failing files whose first line cannot be nix's, and why.
const KNOWN_WORDING: &[(&str, &str)] = &[(
    "missing-colon-formals.nix",
    "`{ a, b }` at the end of the file: the PEG gives up at `a`, where neither a lambda nor a set fits, and Bison reads on to the end",
)];

/// nix's message without `error: `: its first line.
pub(super) fn first_error_line(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or_default()
        .to_string()
}

/// kiln's first line is nix's, or nix's up to the Bison's list of what it expected (`,
/// expecting ';'`), which comes from parser tables a PEG parser does not have.
pub(super) fn same_first_line(nix: &str, ours: &str) -> bool {
    nix == ours
        || nix
            .strip_prefix(ours)
            .is_some_and(|rest| rest.starts_with(", expecting "))
}

/// Sorts the bindings of every `(let ...; in` in printed output.
pub(super) fn normalize_lets(printed: &str) -> String {
    let bytes = printed.as_bytes();
    let mut out = String::with_capacity(printed.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let end = string_end(bytes, i);
            out.push_str(&printed[i..end]);
            i = end;
        } else if let Some((formals, end)) = formals_at(printed, i) {
            out.push_str(&formals);
            i = end;
        } else if printed[i..].starts_with("(let ") {
            out.push_str("(let ");
            i += 5;
            let mut bindings = Vec::new();
            while !printed[i..].starts_with("in ") {
                let end = binding_end(bytes, i);
                bindings.push(normalize_lets(&printed[i..end]));
                i = end;
                if i >= bytes.len() {
                    break;
                }
            }
            bindings.sort();
            out.push_str(&bindings.concat());
        } else {
            let c = printed[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// At `({ a, b ? d, ... }: ` or `... } @ x: `: the formals sorted (Nix prints them in
/// symbol-table order too) and the offset after the closing `}`.
fn formals_at(printed: &str, start: usize) -> Option<(String, usize)> {
    if !printed[start..].starts_with("({ ") {
        return None;
    }
    let bytes = printed.as_bytes();
    let open = start + 1;
    let close = matching_close(bytes, open)?;
    let after = &printed[close + 1..];
    if !(after.starts_with(": ") || after.starts_with(" @ ")) {
        return None;
    }
    let inner = printed[open + 1..close].trim();
    let mut entries: Vec<String> = split_top(inner)
        .into_iter()
        .map(|entry| normalize_lets(entry.trim()))
        .collect();
    entries.sort_by_key(|entry| (entry == "...", entry.clone()));
    Some((format!("({{ {} }}", entries.join(", ")), close + 1))
}

fn matching_close(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits at `, ` outside brackets and strings.
fn split_top(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut last, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&text[last..i]);
                last = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if last < text.len() {
        parts.push(&text[last..]);
    }
    parts
}

fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of one `name = value; ` binding (after the `; `), skipping nested brackets.
fn binding_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return (i + 2).min(bytes.len()),
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

#[test]
fn normalize_sorts_formals() {
    assert_eq!(
        normalize_lets("(x: ({ zeta, alpha ? { b = 1; c = 2; }, x, ... } @ y: x))"),
        "(x: ({ alpha ? { b = 1; c = 2; }, x, zeta, ... } @ y: x))"
    );
    assert_eq!(normalize_lets("({  }: 1)"), "({  }: 1)");
}

#[test]
fn normalize_sorts_let_bindings_only() {
    assert_eq!(
        normalize_lets("(let b = { y = 1; x = 2; }; a = \"(let \"; in { b = 1; a = 2; })"),
        "(let a = \"(let \"; b = { y = 1; x = 2; }; in { b = 1; a = 2; })"
    );
}
