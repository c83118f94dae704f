//! Shell-style patterns, as `modprobe.d` and `modules.alias` use them.

/// Shell-style matching (`fnmatch(3)` without flags): `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
/// Iterative with one backtrack point, so patterns with many `*` stay linear-ish.
pub(crate) fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(&pattern[p..], text[t]) {
                        if matched {
                            p += next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class at the start of `pattern` (which begins with `[`); returns
/// whether it matched and the class length, or `None` for an unterminated class.
fn match_class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut idx = 1;
    let negate = matches!(pattern.get(idx), Some(b'!') | Some(b'^'));
    if negate {
        idx += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pattern.get(idx)?;
        if lo == b']' && !first {
            return Some((matched != negate, idx + 1));
        }
        first = false;
        if pattern.get(idx + 1) == Some(&b'-') && pattern.get(idx + 2).is_some_and(|&hi| hi != b']')
        {
            let hi = pattern[idx + 2];
            matched |= lo <= c && c <= hi;
            idx += 3;
        } else {
            matched |= lo == c;
            idx += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_cases() {
        assert!(fnmatch(
            b"pci:v000014E4d*sv*sd*bc*sc*i*",
            b"pci:v000014E4d00004311sv0sd0bc02sc80i00"
        ));
        assert!(!fnmatch(b"pci:v000014E4d*", b"pci:v00008086d0000"));
        assert!(fnmatch(b"fs-vfat", b"fs-vfat"));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(fnmatch(b"a[0-9]c", b"a5c"));
        assert!(!fnmatch(b"a[!0-9]c", b"a5c"));
        assert!(fnmatch(b"*", b""));
        assert!(!fnmatch(b"a", b""));
        assert!(fnmatch(
            b"brcmfmac*-sdio.*.txt",
            b"brcmfmac43455-sdio.raspberrypi,4-model-b.txt"
        ));
    }
}
