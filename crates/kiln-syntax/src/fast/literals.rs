//! String, indented-string and path literals for the fast parser, with their `${…}`
//! interpolations: the literal's text is cut as pest's rules cut it and lowered by `desugar`.

use super::{Parser, Reject, R};
use crate::ast::{Expr, ExprKind};
use crate::desugar::{self, IndPart};
use std::sync::Arc;

/// A path literal's pieces: literal text (start, end) or an interpolation.
enum PathPart {
    Piece(usize, usize),
    Interp(Expr),
}

impl<'a> Parser<'a> {
    /// `"${" expr "}"` inside a string or path, `pos` at the `$`.
    pub(super) fn interpolation(&mut self) -> R<Expr> {
        self.pos += 2;
        self.skip();
        let expr = self.expr()?;
        self.skip();
        self.expect(b'}')?;
        Ok(expr)
    }

    /// `string = ${ "\"" (str_interp | str_chars)* "\"" }`, lowered as `lower_string`.
    pub(super) fn string(&mut self) -> R<Expr> {
        let start = self.pos;
        self.pos += 1;
        let mut parts = Vec::new();
        let mut interpolated = false;
        loop {
            let p = self.pos;
            if self.starts(p, "${") {
                parts.push(self.interpolation()?);
                interpolated = true;
                continue;
            }
            let end = self.str_chars_end(p);
            if end == p {
                break;
            }
            let mut text = String::with_capacity(end - p);
            desugar::unescape_str(&self.src[p..end], &mut text);
            parts.push(Expr {
                span: self.span(p, end),
                kind: ExprKind::Str(Arc::from(text)),
            });
            self.pos = end;
        }
        self.expect(b'"')?;
        let span = self.span(start, self.pos);
        Ok(match parts.len() {
            0 => Expr {
                span,
                kind: ExprKind::Str(Arc::from("")),
            },
            1 if !interpolated => {
                let mut only = parts.pop().ok_or(Reject)?;
                only.span = span;
                only
            }
            _ => Expr {
                span,
                kind: ExprKind::ConcatStrings {
                    force_string: true,
                    parts,
                },
            },
        })
    }

    /// `ind_string`, lowered as `lower_ind_string`.
    pub(super) fn ind_string(&mut self) -> R<Expr> {
        let start = self.pos;
        self.pos += 2;
        let mut q = self.pos;
        while self.at(q) == b' ' {
            q += 1;
        }
        if self.at(q) == b'\n' {
            self.pos = q + 1;
        }
        let mut parts = Vec::new();
        loop {
            let p = self.pos;
            let (text, indented, end) = if self.starts(p, "${") {
                parts.push(IndPart::Interp(self.interpolation()?));
                continue;
            } else if self.starts(p, "'''") {
                ("''".to_string(), false, p + 3)
            } else if self.starts(p, "''$") {
                ("$".to_string(), false, p + 3)
            } else if self.starts(p, "''\\") && self.any_len(p + 3) > 0 {
                let end = p + 3 + self.any_len(p + 3);
                let mut out = String::new();
                desugar::unescape_str(&self.src[p + 2..end], &mut out);
                (out, false, end)
            } else {
                let end = self.ind_text_end(p);
                if end > p {
                    (self.src[p..end].to_string(), true, end)
                } else if self.at(p) == b'$' && self.at(p + 1) != b'{' && p < self.b.len() {
                    ("$".to_string(), false, p + 1)
                } else if self.at(p) == b'\'' && self.at(p + 1) != b'\'' {
                    ("'".to_string(), false, p + 1)
                } else {
                    break;
                }
            };
            parts.push(IndPart::Text {
                text,
                indented,
                span: self.span(p, end),
            });
            self.pos = end;
        }
        if !self.starts(self.pos, "''") {
            return Err(Reject);
        }
        self.pos += 2;
        Ok(desugar::strip_indentation(
            self.span(start, self.pos),
            parts,
        ))
    }

    /// `path = ${ (path_head | hpath_head) (path_interp | path_piece)* }`, lowered as
    /// `lower_path` (which rejects the same segment sequences).
    pub(super) fn path(&mut self) -> R<Expr> {
        let start = self.pos;
        let (head_end, home) = self.path_head_end(start).ok_or(Reject)?;
        self.pos = head_end;
        let mut rest = Vec::new();
        loop {
            let p = self.pos;
            if self.starts(p, "${") {
                rest.push(PathPart::Interp(self.interpolation()?));
            } else if let Some(end) = self.path_piece_end(p) {
                rest.push(PathPart::Piece(p, end));
                self.pos = end;
            } else {
                break;
            }
        }
        let head_text = &self.src[start..head_end];
        let resolved = if home {
            format!("{}{}", self.home, &head_text[1..])
        } else {
            desugar::resolve_path(head_text, self.base_dir)
        };
        let head = Expr {
            span: self.span(start, head_end),
            kind: ExprKind::Path(Arc::from(resolved)),
        };
        let span = self.span(start, self.pos);
        if rest.is_empty() {
            if head_text.ends_with('/') {
                return Err(Reject);
            }
            return Ok(Expr { span, ..head });
        }
        let first_interp = rest.iter().position(|p| matches!(p, PathPart::Interp(_)));
        if !matches!(first_interp, Some(0 | 1)) {
            return Err(Reject);
        }
        let mut parts = vec![head];
        let mut trailing_slash = false;
        for part in rest {
            match part {
                PathPart::Piece(p, end) => {
                    let text = &self.src[p..end];
                    trailing_slash = text.ends_with('/');
                    parts.push(Expr {
                        span: self.span(p, end),
                        kind: ExprKind::Str(Arc::from(text)),
                    });
                }
                PathPart::Interp(expr) => {
                    trailing_slash = false;
                    parts.push(expr);
                }
            }
        }
        if trailing_slash {
            return Err(Reject);
        }
        Ok(Expr {
            span,
            kind: ExprKind::ConcatStrings {
                force_string: false,
                parts,
            },
        })
    }
}
