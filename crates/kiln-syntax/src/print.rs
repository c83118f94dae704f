//! Prints an expression exactly as `nix-instantiate --parse` (Nix 2.8, `nixexpr.cc`'s `show`
//! methods) does, so that kiln's parser can be diffed against Nix's.
//!
//! Two things are Nix quirks rather than choices: floats print like a C++ `ostream` (`%g`, six
//! significant digits: `1e+06`), and names print bare unless they are not identifiers (then
//! quoted; of the keywords only `if` is quoted). Attribute sets print sorted by name; `let`
//! bindings and formals print in kiln's source order, where Nix uses the order of its symbol
//! table's memory addresses (usually the same).

use crate::ast::{AttrName, Attrs, BinOp, Expr, ExprKind, Lambda};
use std::fmt::Write;

/// The `nix-instantiate --parse` rendering of `expr` (without the trailing newline).
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    show(&mut out, expr);
    out
}

fn show(out: &mut String, expr: &Expr) {
    match &expr.kind {
        ExprKind::Int(n) => {
            let _ = write!(out, "{n}");
        }
        ExprKind::Float(x) => out.push_str(&format_float(*x)),
        ExprKind::Str(s) => show_string(out, s),
        ExprKind::Path(p) => out.push_str(p),
        ExprKind::Var(name) => show_symbol(out, name),
        ExprKind::Select {
            expr,
            path,
            default,
        } => {
            out.push('(');
            show(out, expr);
            out.push_str(").");
            show_attr_path(out, path);
            if let Some(default) = default {
                out.push_str(" or (");
                show(out, default);
                out.push(')');
            }
        }
        ExprKind::HasAttr { expr, path } => {
            out.push_str("((");
            show(out, expr);
            out.push_str(") ? ");
            show_attr_path(out, path);
            out.push(')');
        }
        ExprKind::Attrs(attrs) => show_attrs(out, attrs),
        ExprKind::List(elems) => {
            out.push_str("[ ");
            for elem in elems {
                out.push('(');
                show(out, elem);
                out.push_str(") ");
            }
            out.push(']');
        }
        ExprKind::Lambda(lambda) => show_lambda(out, lambda),
        ExprKind::Call { func, args } => {
            out.push('(');
            show(out, func);
            for arg in args {
                out.push(' ');
                show(out, arg);
            }
            out.push(')');
        }
        ExprKind::Let { attrs, body } => {
            out.push_str("(let ");
            for def in &attrs.attrs {
                if def.inherited {
                    out.push_str("inherit ");
                    show_symbol(out, &def.name);
                    out.push_str("; ");
                } else {
                    show_symbol(out, &def.name);
                    out.push_str(" = ");
                    show(out, &def.value);
                    out.push_str("; ");
                }
            }
            out.push_str("in ");
            show(out, body);
            out.push(')');
        }
        ExprKind::With { env, body } => {
            out.push_str("(with ");
            show(out, env);
            out.push_str("; ");
            show(out, body);
            out.push(')');
        }
        ExprKind::If { cond, then, else_ } => {
            out.push_str("(if ");
            show(out, cond);
            out.push_str(" then ");
            show(out, then);
            out.push_str(" else ");
            show(out, else_);
            out.push(')');
        }
        ExprKind::Assert { cond, body } => {
            out.push_str("assert ");
            show(out, cond);
            out.push_str("; ");
            show(out, body);
        }
        ExprKind::Not(inner) => {
            out.push_str("(! ");
            show(out, inner);
            out.push(')');
        }
        ExprKind::Binary { op, lhs, rhs } => {
            out.push('(');
            show(out, lhs);
            out.push_str(match op {
                BinOp::Eq => " == ",
                BinOp::NEq => " != ",
                BinOp::And => " && ",
                BinOp::Or => " || ",
                BinOp::Impl => " -> ",
                BinOp::Update => " // ",
                BinOp::ConcatLists => " ++ ",
            });
            show(out, rhs);
            out.push(')');
        }
        ExprKind::ConcatStrings { parts, .. } => {
            out.push('(');
            for (idx, part) in parts.iter().enumerate() {
                if idx > 0 {
                    out.push_str(" + ");
                }
                show(out, part);
            }
            out.push(')');
        }
        ExprKind::CurPos => out.push_str("__curPos"),
    }
}

fn show_attrs(out: &mut String, attrs: &Attrs) {
    if attrs.rec {
        out.push_str("rec ");
    }
    out.push_str("{ ");
    let mut sorted: Vec<_> = attrs.attrs.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    for def in sorted {
        if def.inherited {
            out.push_str("inherit ");
            show_symbol(out, &def.name);
            out.push_str(" ; ");
        } else {
            show_symbol(out, &def.name);
            out.push_str(" = ");
            show(out, &def.value);
            out.push_str("; ");
        }
    }
    for dynamic in &attrs.dynamic {
        out.push_str("\"${");
        show(out, &dynamic.name);
        out.push_str("}\" = ");
        show(out, &dynamic.value);
        out.push_str("; ");
    }
    out.push('}');
}

fn show_lambda(out: &mut String, lambda: &Lambda) {
    out.push('(');
    if let Some(formals) = &lambda.formals {
        out.push_str("{ ");
        let mut first = true;
        for formal in &formals.entries {
            if !first {
                out.push_str(", ");
            }
            first = false;
            show_symbol(out, &formal.name);
            if let Some(default) = &formal.default {
                out.push_str(" ? ");
                show(out, default);
            }
        }
        if formals.ellipsis {
            if !first {
                out.push_str(", ");
            }
            out.push_str("...");
        }
        out.push_str(" }");
        if lambda.arg.is_some() {
            out.push_str(" @ ");
        }
    }
    if let Some(arg) = &lambda.arg {
        show_symbol(out, arg);
    }
    out.push_str(": ");
    show(out, &lambda.body);
    out.push(')');
}

fn show_attr_path(out: &mut String, path: &[AttrName]) {
    for (idx, elem) in path.iter().enumerate() {
        if idx > 0 {
            out.push('.');
        }
        match elem {
            AttrName::Static(name) => show_symbol(out, name),
            AttrName::Dynamic(expr) => {
                out.push_str("\"${");
                show(out, expr);
                out.push_str("}\"");
            }
        }
    }
}

/// Nix 2.8's `operator<<(ostream, Symbol)`: bare if it looks like an identifier, else quoted.
fn show_symbol(out: &mut String, name: &str) {
    let bytes = name.as_bytes();
    let is_ident = match bytes.first() {
        None => false,
        Some(first) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\'' | b'-'))
        }
    };
    if is_ident && name != "if" {
        out.push_str(name);
    } else {
        show_string(out, name);
    }
}

/// Nix's `showString`: `"`, `\` and `$` are escaped, as are newline, CR and tab.
fn show_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
}

/// A double as a default C++ `ostream` prints it: `%g` with precision 6.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Round to six significant digits first: the exponent of the rounded value decides. Both
    // notations are written from the digits of this one formatting (formatting the fixed
    // notation again cost a third of `toJSON` on floats).
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let (sign, digits) = match mantissa.strip_prefix('-') {
            Some(m) => ("-", m),
            None => ("", mantissa),
        };
        let digits: String = digits.chars().filter(|c| *c != '.').collect();
        let mut fixed = String::with_capacity(digits.len() + 8);
        fixed.push_str(sign);
        if exp < 0 {
            fixed.push_str("0.");
            for _ in 0..(-exp - 1) {
                fixed.push('0');
            }
            fixed.push_str(&digits);
        } else {
            let point = (exp + 1) as usize;
            fixed.push_str(&digits[..point]);
            fixed.push('.');
            fixed.push_str(&digits[point..]);
        }
        trim_zeros(&fixed).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::{format_float, trim_zeros};
    use proptest::prelude::*;

    /// `%g` with the fixed notation formatted on its own, as `format_float` did before it took
    /// both notations from one formatting.
    fn format_float_twice(x: f64) -> String {
        let sci = format!("{x:.5e}");
        let (mantissa, exp) = sci.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        if !(-4..6).contains(&exp) {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{sign}{:02}", trim_zeros(mantissa), exp.abs())
        } else {
            let decimals = (5 - exp).max(0) as usize;
            trim_zeros(&format!("{x:.decimals$}")).to_string()
        }
    }

    proptest! {
        #[test]
        fn one_formatting_agrees_with_two(
            m in -9_999_999i64..9_999_999,
            e in -12i32..12,
            bits in proptest::num::f64::NORMAL,
        ) {
            for x in [m as f64 * 10f64.powi(e), bits, -bits] {
                prop_assert_eq!(format_float(x), format_float_twice(x));
            }
        }
    }

    #[test]
    fn floats_print_like_cpp_ostream() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(123456789.0), "1.23457e+08");
        assert_eq!(format_float(3e-7), "3e-07");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(999999.5), "1e+06");
        assert_eq!(format_float(1e100), "1e+100");
        assert_eq!(format_float(123456.5), "123456");
        assert_eq!(format_float(0.000123456789), "0.000123457");
        assert_eq!(format_float(1e-5), "1e-05");
        assert_eq!(format_float(-3.5), "-3.5");
        assert_eq!(format_float(1.5e-10), "1.5e-10");
    }
}
