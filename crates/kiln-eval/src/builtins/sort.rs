//! Builtins of the `sort` family: `sort` as Nix 2.8 runs it, libstdc++'s `std::stable_sort` with a fallible comparator.
//!
//! We copy the algorithm (insertion sort on chunks of 7, buffered merges, then one adaptive merge
//! of the two halves) rather than use `slice::sort_by`, because the user's comparator is Nix code:
//! the order in which it is called shows through `trace`, decides which error is reported first,
//! and decides the result when the comparator is not a strict weak order
//! (`sort (a: b: true) [1 2 3]` reverses the list in Nix).
//! An error from the comparator stops the sort at once and is returned.

use super::Builtin;
use crate::ir::{self, ArithOp, ExprKind};
use crate::value::Closure;
use crate::{EvalResult, Evaluator, Value};
use kiln_syntax::Span;

pub(crate) const BUILTINS: &[Builtin] = &[Builtin {
    name: "sort",
    arity: 2,
    func: sort,
}];

fn sort(ev: &mut Evaluator, args: &[Value]) -> EvalResult<Value> {
    let comparator = ev.force_function(&args[0])?;
    let list = ev.force_list(&args[1])?;
    let mut items = Vec::with_capacity(list.len());
    for item in list.iter() {
        items.push(ev.force(item)?);
    }
    // Nix bypasses the call when the comparator is `lessThan` itself.
    let is_less_than = matches!(&comparator, Value::PrimOp(op) if op.name == "lessThan");
    let written = match &comparator {
        Value::Lambda(closure) => written_less_than(closure),
        _ => None,
    };
    let mut comparisons = 0u32;
    stable_sort(&mut items, &mut |a: &Value, b: &Value| {
        if is_less_than {
            return ev.less_than(a, b);
        }
        if let Some(cmp) = &written {
            // No evaluation step polls the interrupt flag on this path: poll it here.
            comparisons = comparisons.wrapping_add(1);
            if comparisons.is_multiple_of(4096) {
                ev.check_interrupt()?;
            }
            let (lhs, rhs) = if cmp.swapped { (b, a) } else { (a, b) };
            return ev.less_than(lhs, rhs).map_err(|e| e.at(cmp.span));
        }
        let res = ev.call2(&comparator, a.clone(), b.clone())?;
        ev.force_bool(&res)
    })?;
    Ok(Value::list(items))
}

/// A comparator written `a: b: a < b` (or `a: b: a > b`, which is `b < a`).
struct WrittenLessThan {
    /// Whether it compares its second argument with its first.
    swapped: bool,
    /// The span of the comparison, where its errors point.
    span: Span,
}

/// Recognises a comparator that only compares its two arguments with `<`, so that `sort` can
/// compare without calling it: applying it to two (already forced) values can do nothing but
/// that comparison. Errors come out the same: the comparison's error at the comparison's span,
/// and no "while calling" frame, because the inner lambda of a curried function never has a
/// name.
fn written_less_than(closure: &Closure) -> Option<WrittenLessThan> {
    let outer = &*closure.lambda;
    let ExprKind::Lambda(inner) = &outer.body.kind else {
        return None;
    };
    let plain = |l: &ir::Lambda| l.formals.is_none() && l.has_arg;
    if !plain(outer) || !plain(inner) || inner.name.is_some() {
        return None;
    }
    let ExprKind::Arith {
        op: ArithOp::LessThan,
        lhs,
        rhs,
    } = &inner.body.kind
    else {
        return None;
    };
    let slot = |e: &ir::Expr| match e.kind {
        ExprKind::Local {
            depth, index: 0, ..
        } if depth <= 1 => Some(depth),
        _ => None,
    };
    let swapped = match (slot(lhs)?, slot(rhs)?) {
        (1, 0) => false,
        (0, 1) => true,
        _ => return None,
    };
    Some(WrittenLessThan {
        swapped,
        span: inner.body.span,
    })
}

/// Sorts `items` stably with `less`, calling it exactly as libstdc++'s `std::stable_sort` would.
pub(crate) fn stable_sort<T: Clone, E>(
    items: &mut [T],
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    // Sort positions rather than the items themselves, so that the many moves of the
    // algorithm copy integers instead of touching reference counts.
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_positions(&mut order, &mut |a: &usize, b: &usize| {
        less(&items[*a], &items[*b])
    })?;
    let sorted: Vec<T> = order.iter().map(|&idx| items[idx].clone()).collect();
    items.clone_from_slice(&sorted);
    Ok(())
}

fn sort_positions<T: Clone, E>(
    items: &mut [T],
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let len = items.len();
    if len < 2 {
        return Ok(());
    }
    let middle = len.div_ceil(2);
    merge_sort_with_buffer(&mut items[..middle], less)?;
    merge_sort_with_buffer(&mut items[middle..], less)?;
    merge_adaptive(items, middle, less)
}

/// libstdc++'s `_S_chunk_size`.
const CHUNK: usize = 7;

fn merge_sort_with_buffer<T: Clone, E>(
    items: &mut [T],
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let len = items.len();
    for chunk in items.chunks_mut(CHUNK) {
        insertion_sort(chunk, less)?;
    }
    let mut buffer: Vec<T> = items.to_vec();
    let mut step = CHUNK;
    while step < len {
        merge_sort_loop(items, &mut buffer, step, less)?;
        step *= 2;
        merge_sort_loop(&buffer, items, step, less)?;
        step *= 2;
    }
    Ok(())
}

fn insertion_sort<T: Clone, E>(
    items: &mut [T],
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    for idx in 1..items.len() {
        if less(&items[idx], &items[0])? {
            items[..=idx].rotate_right(1);
        } else {
            // `__unguarded_linear_insert`: the first element stops the scan.
            let mut pos = idx;
            while less(&items[idx], &items[pos - 1])? {
                pos -= 1;
            }
            items[pos..=idx].rotate_right(1);
        }
    }
    Ok(())
}

/// Merges runs of `step` from `src` into `dst` (same length).
fn merge_sort_loop<T: Clone, E>(
    src: &[T],
    dst: &mut [T],
    step: usize,
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let len = src.len();
    let mut first = 0;
    while len - first >= 2 * step {
        move_merge(
            &src[first..first + step],
            &src[first + step..first + 2 * step],
            &mut dst[first..first + 2 * step],
            less,
        )?;
        first += 2 * step;
    }
    let mid = first + step.min(len - first);
    move_merge(&src[first..mid], &src[mid..], &mut dst[first..], less)
}

/// `__move_merge`: ties take from the left run, so the merge is stable.
fn move_merge<T: Clone, E>(
    left: &[T],
    right: &[T],
    out: &mut [T],
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if less(&right[j], &left[i])? {
            out[k] = right[j].clone();
            j += 1;
        } else {
            out[k] = left[i].clone();
            i += 1;
        }
        k += 1;
    }
    for item in left[i..].iter().chain(&right[j..]) {
        out[k] = item.clone();
        k += 1;
    }
    Ok(())
}

/// `__merge_adaptive` with a buffer that holds either half: a forward merge when the halves are
/// equal in length, else a backward merge of the (shorter) right half from the buffer.
fn merge_adaptive<T: Clone, E>(
    items: &mut [T],
    middle: usize,
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let len1 = middle;
    let len2 = items.len() - middle;
    if len1 <= len2 {
        let buffer: Vec<T> = items[..middle].to_vec();
        let right: Vec<T> = items[middle..].to_vec();
        return move_merge(&buffer, &right, items, less);
    }
    let buffer: Vec<T> = items[middle..].to_vec();
    if buffer.is_empty() {
        return Ok(());
    }
    // Indices one past the last unmerged element of each run, and of the output.
    let (mut last1, mut last2, mut result) = (middle, buffer.len(), items.len());
    loop {
        if less(&buffer[last2 - 1], &items[last1 - 1])? {
            result -= 1;
            items[result] = items[last1 - 1].clone();
            last1 -= 1;
            if last1 == 0 {
                items[result - last2..result].clone_from_slice(&buffer[..last2]);
                return Ok(());
            }
        } else {
            result -= 1;
            items[result] = buffer[last2 - 1].clone();
            last2 -= 1;
            if last2 == 0 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn calls_the_comparator_like_libstdcxx() {
        let mut items = vec![5, 3, 1, 4, 2, 9, 8, 7, 6, 0, 11, 15, 13, 12, 14, 10, 16];
        let mut calls = Vec::new();
        stable_sort(&mut items, &mut |a: &i32, b: &i32| {
            calls.push(format!("{a} {b}"));
            Ok::<_, ()>(a < b)
        })
        .unwrap();
        assert_eq!(items, (0..17).collect::<Vec<_>>());
        // Recorded with `builtins.trace` in the comparator under nix-instantiate 2.8.
        let expected = "3 5,1 3,4 1,4 5,4 3,2 1,2 5,2 4,2 3,2 1,9 1,9 5,8 1,8 9,8 5,6 7,6 1,6 2,6 3,6 4,6 5,6 8,7 8,11 0,11 0,15 0,15 11,13 0,13 15,13 11,12 0,12 15,12 13,12 11,14 0,14 15,14 13,10 0,10 15,10 14,10 13,10 12,10 11,10 0,16 0,16 10,16 11,16 12,16 13,16 14,16 15,16 9,15 9,14 9,13 9,12 9,11 9,10 9,0 9,0 8,0 7,0 6,0 5,0 4,0 3,0 2,0 1";
        assert_eq!(calls.join(","), expected);
    }

    #[test]
    fn always_true_comparator_reverses() {
        let mut items: Vec<i32> = (1..=20).collect();
        stable_sort(&mut items, &mut |_: &i32, _: &i32| Ok::<_, ()>(true)).unwrap();
        assert_eq!(items, (1..=20).rev().collect::<Vec<_>>());
    }

    #[test]
    fn errors_stop_the_sort() {
        let mut items = vec![3, 2, 1];
        let res = stable_sort(&mut items, &mut |a: &i32, _: &i32| {
            if *a == 1 {
                Err("boom")
            } else {
                Ok(true)
            }
        });
        assert_eq!(res, Err("boom"));
    }

    proptest! {
        #[test]
        fn stable_permutation(items in proptest::collection::vec((0u8..8, any::<u16>()), 0..200)) {
            let mut sorted = items.clone();
            stable_sort(&mut sorted, &mut |a: &(u8, u16), b: &(u8, u16)| Ok::<_, ()>(a.0 < b.0)).unwrap();
            let mut expected = items.clone();
            expected.sort_by_key(|x| x.0);
            prop_assert_eq!(sorted, expected);
        }
    }

    #[test]
    fn sort_builtin_with_less_than() {
        use super::super::context::testing::{builtin, call, list, s};
        let items = list(vec![Value::Int(3), Value::Float(1.5), Value::Int(2)]);
        assert_eq!(call("sort", &[builtin("lessThan"), items]), "[ 1.5 2 3 ]");
        let mixed = list(vec![Value::Int(1), s("a")]);
        assert_eq!(
            call("sort", &[builtin("lessThan"), mixed]),
            "error: cannot compare a string with an integer"
        );
    }

    proptest! {
        /// Through the evaluator: `sort` on a key is stable and a permutation.
        #[test]
        fn sort_builtin_is_stable(keys in proptest::collection::vec(0u8..5, 0..40)) {
            use super::super::context::testing::eval_str;
            let items: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(idx, key)| format!("{{ k = {key}; i = {idx}; }}"))
                .collect();
            let source = format!(
                "map (x: x.i) (builtins.sort (a: b: a.k < b.k) [ {} ])",
                items.join(" ")
            );
            let mut expected: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            expected.sort_by_key(|item| item.0);
            let expected: Vec<String> = expected.iter().map(|item| item.1.to_string()).collect();
            let expected = if expected.is_empty() {
                "[ ]".to_owned()
            } else {
                format!("[ {} ]", expected.join(" "))
            };
            prop_assert_eq!(eval_str(&source), expected);
        }
    }
}
