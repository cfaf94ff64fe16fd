//! The order of names, eight bytes at a time.
//!
//! Sorting and searching names (variables, items, the answer of a batch) is most of the
//! CPU a job of 10,000 references costs, and `str`'s own ordering calls musl's `memcmp`,
//! which compares one byte at a time. This is the same order (bytewise, as `str::cmp`),
//! eight bytes to a step; and the one sort that keeps, of equal entries, the last given.

use std::cmp::Ordering;

pub fn cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    let (x, y) = (&a[..n], &b[..n]);
    if n < 8 {
        // Short names: byte by byte.
        for (p, q) in x.iter().zip(y) {
            if p != q {
                return p.cmp(q);
            }
        }
        return a.len().cmp(&b.len());
    }
    for (p, q) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
        if word(p) != word(q) {
            return word(p).cmp(&word(q));
        }
    }
    // The last eight bytes: they overlap words found equal, so their first difference is
    // the first difference of the names.
    word(&x[n - 8..])
        .cmp(&word(&y[n - 8..]))
        .then(a.len().cmp(&b.len()))
}

/// Sorts `items` by `cmp` and keeps, of items equal by it, the one added last (as a map's
/// insert would): reversed, a stable sort puts it first among its equals, and `dedup_by`
/// keeps the first.
pub fn sort_keeping_last<T>(items: &mut Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    items.reverse();
    items.sort_by(&mut cmp);
    items.dedup_by(|a, b| cmp(a, b).is_eq());
}

/// Eight bytes as one number that orders as they do: big-endian.
fn word(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_order_of_str() {
        let names = [
            "",
            "a",
            "ab",
            "/ci/many/s00001",
            "/ci/many/s00010",
            "/ci/many/s0001",
            "é",
            "e\u{0}",
        ];
        for a in names {
            for b in names {
                assert_eq!(cmp(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_two_strings_compare_as_str_does(a in "[a-c/é]{0,20}", b in "[a-c/é]{0,20}") {
            prop_assert_eq!(cmp(&a, &b), a.cmp(&b));
        }

        #[test]
        fn names_that_share_a_prefix_compare_as_str_does(
            prefix in "/ci/[a-z/]{0,20}",
            a in "[0-9é]{0,10}",
            b in "[0-9é]{0,10}",
        ) {
            let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            prop_assert_eq!(cmp(&a, &b), a.cmp(&b));
        }
    }
}
