//! The env file's text: rendering (pure) and reading back what was rendered.
//!
//! The sh format is `export NAME='value'` lines sorted by name, with every `'` written as
//! `'\''`: POSIX single quotes are the only quoting in which every byte but NUL stands for
//! itself, in dash, bash and busybox alike (no `$`, backtick, backslash or `!` expansion,
//! newlines kept).

use crate::secret::Secret;
use crate::settings::valid_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// `export NAME='value'` lines, for `. ~/.akeyless/env`.
    #[default]
    Sh,
    /// One JSON object of NAME → value.
    Json,
}

/// What an env file says: variables to set, and variables to unset (those that held a
/// folder reference: they get no value of their own).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub vars: Vec<(String, Secret)>,
    pub unset: Vec<String>,
}

/// Renders the variables, sorted by name, after an `unset` line for each of `unset` (the
/// JSON format has no way to say unset: it leaves them out). Names must be valid and
/// values free of NUL (the caller checks both and reports them per variable).
pub fn render<N: AsRef<str>>(vars: &[(N, Secret)], unset: &[String], format: Format) -> Secret {
    let mut sorted: Vec<(&str, &Secret)> = vars.iter().map(|(n, v)| (n.as_ref(), v)).collect();
    sorted.sort_by(|a, b| crate::order::cmp(a.0, b.0));
    debug_assert!(
        sorted
            .iter()
            .all(|(n, v)| valid_name(n) && !v.expose().contains('\0'))
    );
    match format {
        Format::Sh => {
            let size = sorted
                .iter()
                .map(|(n, v)| n.len() + v.expose().len() + 12)
                .sum();
            let mut out = String::with_capacity(size);
            let mut unset: Vec<&String> = unset.iter().collect();
            unset.sort();
            for name in unset {
                debug_assert!(valid_name(name));
                out.push_str("unset ");
                out.push_str(name);
                out.push('\n');
            }
            for (name, value) in sorted {
                out.push_str("export ");
                out.push_str(name);
                out.push_str("='");
                // Piece by piece: no copy of a value just to quote it.
                let mut pieces = value.expose().split('\'');
                out.push_str(pieces.next().unwrap_or_default());
                for piece in pieces {
                    out.push_str(r"'\''");
                    out.push_str(piece);
                }
                out.push_str("'\n");
            }
            Secret::new(out)
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = sorted
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v.expose().into()))
                .collect();
            Secret::new(format!("{}\n", serde_json::Value::Object(map)))
        }
    }
}

/// Reads back a file `render` wrote in the sh format: `unset NAME` lines, then
/// `export NAME='value'` lines, `'\''` standing for a quote. Anything else is refused with
/// the line it is on; the message never quotes the file.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    // Names seen: a set, so a file of 10,000 variables reads in linear time.
    let mut seen = std::collections::HashSet::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let at = line;
        let bad = |what: &str| {
            format!("line {at}: {what}; expected export NAME='value' as akl env writes it")
        };
        if let Some(after) = rest.strip_prefix("unset ") {
            let (name, tail) = after
                .split_once('\n')
                .ok_or_else(|| bad("no end of line"))?;
            if !valid_name(name) || !parsed.vars.is_empty() {
                return Err(bad("not an unset akl writes"));
            }
            parsed.unset.push(name.to_owned());
            rest = tail;
            line += 1;
            continue;
        }
        let vars = &mut parsed.vars;
        let after = rest
            .strip_prefix("export ")
            .ok_or_else(|| bad("not an export"))?;
        let (name, after) = after.split_once("='").ok_or_else(|| bad("no ='"))?;
        if !valid_name(name) {
            return Err(bad("not a variable name"));
        }
        let mut value = String::new();
        let mut tail = after;
        loop {
            let end = tail.find('\'').ok_or_else(|| bad("unterminated quote"))?;
            value.push_str(&tail[..end]);
            tail = &tail[end + 1..];
            if let Some(next) = tail.strip_prefix("\\''") {
                value.push('\'');
                tail = next;
            } else {
                break;
            }
        }
        line += value.matches('\n').count() + 1;
        rest = tail
            .strip_prefix('\n')
            .ok_or_else(|| bad("text after the closing quote"))?;
        if !seen.insert(name) {
            return Err(bad(&format!("{name} is set twice")));
        }
        vars.push((name.to_owned(), Secret::new(value)));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, Secret)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), Secret::new(*v)))
            .collect()
    }

    #[test]
    fn sh_is_sorted_single_quoted_lines() {
        let out = render(
            &vars(&[("B", "it's"), ("A", "$x `y` \\z\n!")]),
            &[],
            Format::Sh,
        );
        assert_eq!(
            out.expose(),
            "export A='$x `y` \\z\n!'\nexport B='it'\\''s'\n"
        );
        assert_eq!(render::<&str>(&[], &[], Format::Sh).expose(), "");
    }

    #[test]
    fn parse_reads_back_what_render_wrote() {
        let pairs = vars(&[("A", "it's \"x\"\n\nline'"), ("B", ""), ("C", "'\\''")]);
        let text = render(&pairs, &["F".to_owned()], Format::Sh);
        assert!(text.expose().starts_with("unset F\nexport A="));
        let parsed = parse(text.expose()).unwrap();
        assert_eq!((parsed.vars, parsed.unset), (pairs, vec!["F".to_owned()]));
        assert_eq!(parse("").unwrap(), Parsed::default());
        for (bad, why) in [
            ("FOO=bar\n", "line 1: not an export"),
            ("export A='1'\nexport B=2\n", "line 2: no ='"),
            (
                "export A='x\ny'\nexport 1A='2'\n",
                "line 3: not a variable name",
            ),
            ("export A='open\n", "line 1: unterminated quote"),
            (
                "export A='1' # note\n",
                "line 1: text after the closing quote",
            ),
            ("export A='1'", "line 1: text after the closing quote"),
            ("export A='1'\nexport A='2'\n", "line 2: A is set twice"),
            ("export A='1'\nunset B\n", "line 2: not an unset akl writes"),
            ("unset B", "line 1: no end of line"),
        ] {
            assert_eq!(
                parse(bad).unwrap_err().split(';').next().unwrap(),
                why,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn json_is_one_sorted_object() {
        let out = render(
            &vars(&[("B", "2"), ("A", "line\n\"q\"")]),
            &["U".to_owned()],
            Format::Json,
        );
        assert_eq!(out.expose(), "{\"A\":\"line\\n\\\"q\\\"\",\"B\":\"2\"}\n");
    }

    use akl_testkit::shells::{SHELLS, source_in};

    /// Renders `values` as V_0, V_1, … and sources the file in every shell: what each gave back.
    fn rendered_and_sourced(values: &[&str]) -> Vec<(&'static [&'static str], Vec<Vec<u8>>)> {
        let names: Vec<String> = (0..values.len()).map(|i| format!("V_{i}")).collect();
        let pairs: Vec<(String, Secret)> = names
            .iter()
            .cloned()
            .zip(values.iter().map(|v| Secret::new(*v)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        fs::write(&file, render(&pairs, &[], Format::Sh).expose()).unwrap();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        SHELLS
            .iter()
            .map(|shell| (*shell, source_in(shell, &file, &names)))
            .collect()
    }

    fn value_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special = prop::sample::select(vec![
            '\'', '"', '$', '`', '\\', '!', '\n', '\r', '-', ' ', '\t', '{', '}', '*', '?', '~',
            '#', ';', '&', '|', '(', ')', '<', '>', '=', '%', 'é', '✓', '\u{1}', '\u{7f}',
            '\u{2028}',
        ]);
        let any_char = any::<char>().prop_filter("NUL cannot be exported", |c| *c != '\0');
        prop::collection::vec(
            prop_oneof![3 => special, 2 => any_char, 2 => prop::char::range('a', 'z')],
            0..48,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(96))]

        /// Whatever the values, sourcing the file in dash, bash and busybox sh gives every
        /// one of them back exactly.
        #[test]
        fn sourcing_gives_back_every_byte(values in proptest::collection::vec(value_strategy(), 1..6)) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            for (shell, got) in rendered_and_sourced(&values) {
                for (value, got) in values.iter().zip(&got) {
                    proptest::prop_assert_eq!(value.as_bytes(), got.as_slice(), "{:?}", shell);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        /// Whatever the names and values, what `render` writes `parse` reads back.
        #[test]
        fn fuzz_render_then_parse(vars in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,8}", "[^\\x00]{0,30}", 0..8)) {
            let pairs: Vec<(String, Secret)> = vars.into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
            let text = render(&pairs, &[], Format::Sh);
            proptest::prop_assert_eq!(parse(text.expose()).unwrap().vars, pairs);
        }
    }

    #[test]
    fn sourcing_survives_edge_values_and_a_mebibyte() {
        let long: String = "0123456789abcdef'\n".repeat(1 << 16);
        assert!(long.len() > 1 << 20);
        let cases = [
            "",
            "'",
            "''",
            "\n\nleading",
            "trailing\n\n",
            "-n",
            "-e \\n",
            "--",
            "a\r\nb\r",
            "$(id)",
            "${HOME}",
            "`id`",
            "\\",
            "!!",
            "ünïcødé ✓ 日本",
            "it's \"quoted\"",
            long.as_str(),
        ];
        for (shell, got) in rendered_and_sourced(&cases) {
            for (i, (case, got)) in cases.iter().zip(&got).enumerate() {
                assert!(
                    case.as_bytes() == got.as_slice(),
                    "{shell:?} case {i}: {} bytes back for {}",
                    got.len(),
                    case.len()
                );
            }
        }
    }
}
