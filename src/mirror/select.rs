//! Which upstream downloads a sync takes: `--python`, `--implementation`,
//! `--os`, `--arch`, `--libc`, `--variant` and `--latest-patch`.
//!
//! Values of one filter are alternatives (any may match); different filters
//! must all match. A filter not given matches everything.

use std::collections::{BTreeSet, HashMap};

use super::entry::{Download, PythonVersion, compare_pre};

/// One `--python` value, e.g. `3.12`, `3.12.8`, `>=3.11`, `>=3.11,<3.13`,
/// `3.14.0rc2`, `3.12,3.13`. Commas join clauses: between bare versions a
/// comma means "or", like every other filter (no version is both 3.12 and
/// 3.13); between clauses with an operator it means "and", as in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonSpec {
    /// Alternatives; each holds clauses that must all hold.
    any_of: Vec<Vec<Clause>>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Bare version or `==`: the given components match.
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    op: Op,
    /// One to three release components.
    parts: Vec<u64>,
    /// A pre-release tag (`rc2`), empty for none.
    pre: String,
    /// Written without an operator.
    bare: bool,
}

impl PythonSpec {
    /// Parses a `--python` value (clap's value parser).
    pub fn parse(text: &str) -> Result<PythonSpec, String> {
        let clauses = text
            .split(',')
            .map(|clause| parse_clause(clause.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let bare = clauses.iter().filter(|c| c.bare).count();
        let any_of = if bare == clauses.len() {
            clauses.into_iter().map(|clause| vec![clause]).collect()
        } else if bare == 0 {
            vec![clauses]
        } else {
            // "3.12,>=3.13" could mean either; say how to write each.
            return Err(format!(
                "`{}` mixes bare versions (a comma between them means \"or\") with ranges (a comma means \"and\"): give each alternative its own --python (--python 3.12 --python '>=3.13'), or write == to join a version to a range ('==3.12,!=3.12.1')",
                text.trim()
            ));
        };
        Ok(PythonSpec {
            any_of,
            text: text.trim().to_string(),
        })
    }

    /// Whether `version` satisfies every clause of one alternative.
    pub fn matches(&self, version: &PythonVersion) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|clause| clause.matches(version)))
    }
}

impl std::fmt::Display for PythonSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_clause(text: &str) -> Result<Clause, String> {
    let bad = || {
        format!(
            "`{text}` is not a Python version or range (examples: 3.12, 3.12.8, >=3.11, \">=3.11,<3.13\", 3.14.0rc2)"
        )
    };
    let (op, rest, bare) = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ]
    .iter()
    .find_map(|(prefix, op)| text.strip_prefix(prefix).map(|rest| (*op, rest.trim())))
    .map_or((Op::Eq, text, true), |(op, rest)| (op, rest, false));
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (numbers, pre) = rest.split_at(split);
    let parts = numbers
        .split('.')
        .map(|n| n.parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad())?;
    let pre_ok = pre.is_empty()
        || (pre.starts_with(|c: char| c.is_ascii_alphabetic())
            && pre.chars().all(|c| c.is_ascii_alphanumeric()));
    if parts.is_empty() || parts.len() > 3 || !pre_ok || (!pre.is_empty() && parts.len() != 3) {
        return Err(bad());
    }
    Ok(Clause {
        op,
        parts,
        pre: pre.to_ascii_lowercase(),
        bare,
    })
}

impl Clause {
    fn matches(&self, version: &PythonVersion) -> bool {
        let (major, minor, patch) = version.release;
        let have = [major, minor, patch];
        match self.op {
            Op::Eq => self.equal(version, &have),
            Op::Ne => !self.equal(version, &have),
            op => {
                let mut padded = [0u64; 3];
                padded[..self.parts.len()].copy_from_slice(&self.parts);
                let bound = PythonVersion {
                    release: (padded[0], padded[1], padded[2]),
                    pre: self.pre.clone(),
                };
                let order = version.cmp(&bound);
                match op {
                    Op::Ge => order.is_ge(),
                    Op::Gt => order.is_gt(),
                    Op::Le => order.is_le(),
                    // As in PEP 440, `<3.13` does not let 3.13's own
                    // pre-releases in.
                    Op::Lt => {
                        order.is_lt()
                            && !(self.pre.is_empty()
                                && version.is_pre()
                                && version.release == bound.release)
                    }
                    Op::Eq | Op::Ne => unreachable!(),
                }
            }
        }
    }

    fn equal(&self, version: &PythonVersion, have: &[u64; 3]) -> bool {
        if have[..self.parts.len()] != self.parts[..] {
            return false;
        }
        if self.parts.len() < 3 {
            return true;
        }
        // `3.12.8` is the final release; `3.14.0rc2` that pre-release.
        compare_pre(&version.pre, &self.pre).is_eq()
    }
}

/// A value of `--os`, `--arch`, `--libc` or `--variant`: the exact name, or
/// a prefix ending in `*` (`x86_64*` takes `x86_64` and `x86_64_v3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// A pattern as typed, lowercased; common aliases (`macos`, `arm64`,
    /// `amd64`) become uv's spelling.
    pub fn new(text: &str) -> Pattern {
        let lower = text.trim().to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "macos" | "osx" => "darwin",
            "arm64" => "aarch64",
            "amd64" | "x64" => "x86_64",
            other => other,
        };
        Pattern(canonical.to_string())
    }

    fn matches(&self, value: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => self.0 == value,
        }
    }
}

fn any_matches(patterns: &[Pattern], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(value))
}

/// Every filter of a sync.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `--python`.
    pub python: Vec<PythonSpec>,
    /// `--implementation`: `cpython`, `pypy`, `graalpy`, `pyodide`.
    pub implementation: Vec<String>,
    /// `--os`.
    pub os: Vec<Pattern>,
    /// `--arch` (`x86_64`, `x86_64_v3`, `aarch64`, …).
    pub arch: Vec<Pattern>,
    /// `--libc`.
    pub libc: Vec<Pattern>,
    /// `--variant` (`default` for the plain build).
    pub variant: Vec<Pattern>,
    /// `--latest-patch`: only the newest patch of each minor, per platform and variant.
    pub latest_patch: bool,
}

impl Filters {
    fn matches(&self, d: &Download) -> bool {
        (self.python.is_empty() || self.python.iter().any(|spec| spec.matches(&d.version)))
            && (self.implementation.is_empty() || self.implementation.contains(&d.name))
            && any_matches(&self.os, &d.os)
            && any_matches(&self.arch, &d.arch)
            && any_matches(&self.libc, &d.libc)
            && any_matches(&self.variant, variant_name(d))
    }
}

/// The variant as `--variant` names it.
pub fn variant_name(d: &Download) -> &str {
    d.variant.as_deref().unwrap_or("default")
}

/// The indices of the downloads the filters take, in document order.
pub fn select(downloads: &[Download], filters: &Filters) -> Vec<usize> {
    let chosen: Vec<usize> = (0..downloads.len())
        .filter(|&i| filters.matches(&downloads[i]))
        .collect();
    if !filters.latest_patch {
        return chosen;
    }
    // The newest version of each (implementation, minor, platform, variant).
    type Group<'a> = (&'a str, u64, u64, &'a str, &'a str, &'a str, &'a str);
    fn group(d: &Download) -> Group<'_> {
        let (major, minor, _) = d.version.release;
        (
            d.name.as_str(),
            major,
            minor,
            d.os.as_str(),
            d.arch.as_str(),
            d.libc.as_str(),
            variant_name(d),
        )
    }
    let mut newest: HashMap<Group<'_>, &PythonVersion> = HashMap::new();
    for &i in &chosen {
        let d = &downloads[i];
        let slot = newest.entry(group(d)).or_insert(&d.version);
        if d.version > **slot {
            *slot = &d.version;
        }
    }
    chosen
        .into_iter()
        .filter(|&i| newest[&group(&downloads[i])] == &downloads[i].version)
        .collect()
}

/// What the document offers, for the message when nothing matched.
pub fn offered(downloads: &[Download]) -> String {
    let mut names = BTreeSet::new();
    let mut oses = BTreeSet::new();
    let mut arches = BTreeSet::new();
    let mut libcs = BTreeSet::new();
    let mut variants = BTreeSet::new();
    let mut versions = BTreeSet::new();
    for d in downloads {
        names.insert(d.name.as_str());
        oses.insert(d.os.as_str());
        arches.insert(d.arch.as_str());
        libcs.insert(d.libc.as_str());
        variants.insert(variant_name(d));
        versions.insert((d.version.release.0, d.version.release.1));
    }
    let join = |set: BTreeSet<&str>| set.into_iter().collect::<Vec<_>>().join(", ");
    let minors = match (versions.first(), versions.last()) {
        (Some(lo), Some(hi)) => format!("{}.{} to {}.{}", lo.0, lo.1, hi.0, hi.1),
        _ => "none".into(),
    };
    format!(
        "implementations: {}; python: {minors}; os: {}; arch: {}; libc: {}; variants: {}",
        join(names),
        join(oses),
        join(arches),
        join(libcs),
        join(variants)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn version(text: &str) -> PythonVersion {
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (numbers, pre) = text.split_at(split);
        let n: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap()).collect();
        PythonVersion {
            release: (n[0], n[1], n[2]),
            pre: pre.into(),
        }
    }

    fn matches(spec: &str, v: &str) -> bool {
        PythonSpec::parse(spec).unwrap().matches(&version(v))
    }

    #[test]
    fn bare_versions_match_their_components() {
        assert!(matches("3.12", "3.12.8"));
        assert!(matches("3", "3.9.1"));
        assert!(!matches("3.12", "3.13.0"));
        assert!(matches("3.12.8", "3.12.8"));
        assert!(!matches("3.12.8", "3.12.9"));
        assert!(matches("3.14", "3.14.0rc2"));
        assert!(!matches("3.14.0", "3.14.0rc2"));
        assert!(matches("3.14.0rc2", "3.14.0rc2"));
        assert!(matches("==3.11", "3.11.4"));
        assert!(!matches("!=3.11", "3.11.4"));
    }

    #[test]
    fn ranges_compare_versions() {
        assert!(matches(">=3.11", "3.11.0"));
        assert!(matches(">=3.11", "3.13.1"));
        assert!(!matches(">=3.11", "3.10.16"));
        assert!(!matches(">=3.11", "3.11.0rc1"));
        assert!(matches(">3.11", "3.11.1"));
        assert!(!matches(">3.11.1", "3.11.1"));
        assert!(matches("<=3.12", "3.12.0"));
        assert!(!matches("<=3.12", "3.12.1"));
        assert!(matches(">=3.11,<3.13", "3.12.8"));
        assert!(!matches(">=3.11,<3.13", "3.13.0"));
        assert!(!matches("<3.13", "3.13.0rc2"));
        assert!(matches("< 3.13", "3.12.99"));
    }

    #[test]
    fn a_comma_between_bare_versions_means_or() {
        assert!(matches("3.12,3.13", "3.12.8") && matches("3.12, 3.13", "3.13.1"));
        assert!(!matches("3.12,3.13", "3.11.9"));
        assert!(matches("==3.12,!=3.12.1", "3.12.2") && !matches("==3.12,!=3.12.1", "3.12.1"));
        let err = PythonSpec::parse("3.12,>=3.13").unwrap_err();
        assert!(err.contains("--python 3.12 --python '>=3.13'"), "{err}");
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in [
            "",
            "abc",
            "3.x",
            ">=",
            "3.12.8.1",
            "3.12rc1",
            "3.12.0rc-1",
            ">=3.11,",
        ] {
            assert!(PythonSpec::parse(bad).is_err(), "{bad}");
        }
    }

    fn d(key: &str, name: &str, v: &str, os: &str, arch: &str, variant: Option<&str>) -> Download {
        Download {
            key: key.into(),
            name: name.into(),
            version: version(v),
            os: os.into(),
            arch: arch.into(),
            libc: "gnu".into(),
            variant: variant.map(str::to_string),
            build: None,
            sha256: None,
            url: Url::parse("https://h.example/f").unwrap(),
            raw: Default::default(),
        }
    }

    fn keys(all: &[Download], filters: &Filters) -> Vec<String> {
        select(all, filters)
            .into_iter()
            .map(|i| all[i].key.clone())
            .collect()
    }

    #[test]
    fn filters_combine() {
        let all = vec![
            d("a", "cpython", "3.12.8", "linux", "x86_64", None),
            d("b", "cpython", "3.12.7", "linux", "x86_64", None),
            d("c", "cpython", "3.12.8", "darwin", "aarch64", None),
            d(
                "d",
                "cpython",
                "3.13.1",
                "linux",
                "x86_64_v3",
                Some("freethreaded"),
            ),
            d("e", "pypy", "3.10.14", "linux", "x86_64", None),
            d("f", "cpython", "3.11.11", "linux", "x86_64", None),
        ];
        let mut f = Filters::default();
        assert_eq!(keys(&all, &f).len(), 6);
        f.os = vec![Pattern::new("Linux")];
        f.arch = vec![Pattern::new("x86_64")];
        assert_eq!(keys(&all, &f), ["a", "b", "e", "f"]);
        f.arch = vec![Pattern::new("x86_64*")];
        f.variant = vec![Pattern::new("freethreaded")];
        assert_eq!(keys(&all, &f), ["d"]);
        let f = Filters {
            implementation: vec!["pypy".into()],
            ..Filters::default()
        };
        assert_eq!(keys(&all, &f), ["e"]);
        let f = Filters {
            python: vec![
                PythonSpec::parse("3.11").unwrap(),
                PythonSpec::parse("3.12.7").unwrap(),
            ],
            ..Filters::default()
        };
        assert_eq!(keys(&all, &f), ["b", "f"]);
        let f = Filters {
            os: vec![Pattern::new("macos")],
            ..Filters::default()
        };
        assert_eq!(keys(&all, &f), ["c"]);
    }

    #[test]
    fn latest_patch_is_per_platform_and_variant() {
        let all = vec![
            d("a", "cpython", "3.12.8", "linux", "x86_64", None),
            d("b", "cpython", "3.12.7", "linux", "x86_64", None),
            d("c", "cpython", "3.12.6", "darwin", "aarch64", None),
            d("d", "cpython", "3.14.0rc2", "linux", "x86_64", None),
            d("e", "cpython", "3.14.0", "linux", "x86_64", None),
            d("f", "cpython", "3.12.5", "linux", "x86_64", Some("debug")),
        ];
        let f = Filters {
            latest_patch: true,
            ..Filters::default()
        };
        assert_eq!(keys(&all, &f), ["a", "c", "e", "f"]);
        let f = Filters {
            latest_patch: true,
            python: vec![PythonSpec::parse("<3.12.8").unwrap()],
            ..Filters::default()
        };
        assert_eq!(keys(&all, &f), ["b", "c", "f"]);
    }

    #[test]
    fn offered_lists_values() {
        let all = vec![
            d("a", "cpython", "3.12.8", "linux", "x86_64", None),
            d("e", "pypy", "3.10.14", "darwin", "aarch64", Some("debug")),
        ];
        let text = offered(&all);
        assert!(
            text.contains("cpython, pypy") && text.contains("3.10 to 3.12"),
            "{text}"
        );
        assert!(text.contains("variants: debug, default"), "{text}");
    }
}
