//! The text files `modprobe` reads from `lib/modules/<version>`, written in depmod's formats
//! (`depmod(8)`, `modules.dep(5)`), for the modules of a closure only:
//! - `modules.dep`: `kernel/a/x.ko: kernel/b/y.ko kernel/c/z.ko`, one line per module, listing
//!   its whole `depends=` closure. The list is in reverse load order (the first one is loaded
//!   last), which is what busybox `modprobe` and kmod expect.
//! - `modules.alias`: `alias <pattern> <module>`.
//! - `modules.softdep`: `softdep <module> pre: a b post: c`.
//!
//! Lines are sorted by module path (aliases by module name) so the files are deterministic.
//! kmod's binary indexes (`modules.dep.bin`) are not written; busybox reads the text files.

use super::closure::Closure;
use super::index::ModuleIndex;
use std::collections::BTreeSet;
use std::fmt::Write;

/// `modules.dep` for the modules in `closure`.
pub fn modules_dep(index: &ModuleIndex, closure: &Closure) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    for module in closure.iter(index) {
        let mut load_order = Vec::new();
        let mut seen = BTreeSet::new();
        hard_deps(index, &module.name, &mut seen, &mut load_order);
        let deps: Vec<&str> = load_order
            .iter()
            .rev()
            .filter(|n| **n != module.name)
            .filter_map(|n| index.modules.get(n.as_str()).map(|m| m.rel_path.as_str()))
            .collect();
        let mut line = format!("{}:", module.rel_path);
        for dep in deps {
            line.push(' ');
            line.push_str(dep);
        }
        lines.push((module.rel_path.clone(), line));
    }
    lines.sort();
    let mut res = String::new();
    for (_, line) in lines {
        res.push_str(&line);
        res.push('\n');
    }
    res
}

/// Post-order over `depends=` only; the closure already rejected hard cycles, and `seen` keeps
/// this finite regardless.
fn hard_deps(index: &ModuleIndex, name: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
    if !seen.insert(name.to_owned()) {
        return;
    }
    if let Some(module) = index.modules.get(name) {
        for dep in &module.info.depends {
            hard_deps(index, dep, seen, out);
        }
    }
    out.push(name.to_owned());
}

/// `modules.alias` for the modules in `closure`.
pub fn modules_alias(index: &ModuleIndex, closure: &Closure) -> String {
    let mut names: Vec<&str> = closure.modules.iter().map(String::as_str).collect();
    names.sort_unstable();
    let mut res = String::from("# Aliases extracted from modules themselves.\n");
    for name in names {
        if let Some(module) = index.modules.get(name) {
            for alias in &module.info.aliases {
                let _ = writeln!(res, "alias {alias} {name}");
            }
        }
    }
    res
}

/// `modules.softdep` for the modules in `closure` that declare softdeps.
pub fn modules_softdep(index: &ModuleIndex, closure: &Closure) -> String {
    let mut names: Vec<&str> = closure.modules.iter().map(String::as_str).collect();
    names.sort_unstable();
    let mut res = String::from("# Soft dependencies extracted from modules themselves.\n");
    for name in names {
        let Some(module) = index.modules.get(name) else {
            continue;
        };
        let info = &module.info;
        if info.softdep_pre.is_empty() && info.softdep_post.is_empty() {
            continue;
        }
        let _ = write!(res, "softdep {name}");
        if !info.softdep_pre.is_empty() {
            let _ = write!(res, " pre: {}", info.softdep_pre.join(" "));
        }
        if !info.softdep_post.is_empty() {
            let _ = write!(res, " post: {}", info.softdep_post.join(" "));
        }
        res.push('\n');
    }
    res
}
