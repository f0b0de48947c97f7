//! Just enough of src/args.ts's `parseArgs` to take the Deno shim's
//! decisions: whether the command line parses at all (a usage error, an
//! rg flag curserve lacks: the real rg answers), `--version`/`-V`,
//! `--help`, which flags need the real rg (`fallback`, with the same reason
//! text), and the paths, for whether rg would read standard input. What
//! the flags mean is the daemon's business: it parses argv again.

/// What the shim needs to know of a command line that parses.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub version: bool,
    pub short_version: bool,
    pub help: bool,
    pub files: bool,
    /// A flag only the real rg answers, as src/args.ts names it.
    pub fallback: Option<String>,
    pub paths: Vec<String>,
}

#[derive(Default)]
struct State {
    p: Parsed,
    /// The rg-only flags in force, by name, with how the fallback names
    /// them (src/args.ts's `rgOnly`): a later negation takes one out.
    rg_only: Vec<(&'static str, String)>,
    patterns: usize,
    pattern_files: usize,
    unrestricted: u32,
    type_list: bool,
    vimgrep: bool,
    multiline: bool,
    json: bool,
    count: bool,
    count_matches: bool,
    files_with_matches: bool,
    files_without_match: bool,
}

impl State {
    fn need_rg(&mut self, name: &'static str, why: String) {
        self.no_rg(name);
        self.rg_only.push((name, why));
    }

    fn no_rg(&mut self, name: &str) {
        self.rg_only.retain(|(n, _)| *n != name);
    }
}

/// rg-only switches (src/args.ts's RG_ONLY), with the short flag of each
/// that has one.
const RG_ONLY_SWITCHES: &[(&str, Option<char>)] = &[
    ("binary", None),
    ("auto-hybrid-regex", None),
    ("crlf", None),
    ("debug", None),
    ("trace", None),
    ("follow", Some('L')),
    ("ignore-file-case-insensitive", None),
    ("max-columns-preview", None),
    ("no-unicode", None),
    ("no-pcre2-unicode", None),
    ("null-data", None),
    ("one-file-system", None),
    ("passthru", None),
    ("pretty", Some('p')),
    ("stats", None),
    ("pcre2", None),
    ("pcre2-version", None),
    ("search-zip", None),
];

/// rg 13's hidden negations of rg-only flags, and what each undoes.
const RG_ONLY_NEGATIONS: &[(&str, &str)] = &[
    ("no-binary", "binary"),
    ("no-auto-hybrid-regex", "auto-hybrid-regex"),
    ("no-crlf", "crlf"),
    ("no-follow", "follow"),
    (
        "no-ignore-file-case-insensitive",
        "ignore-file-case-insensitive",
    ),
    ("no-max-columns-preview", "max-columns-preview"),
    ("unicode", "no-unicode"),
    ("pcre2-unicode", "no-pcre2-unicode"),
    ("no-one-file-system", "one-file-system"),
    ("no-stats", "stats"),
    ("no-pcre2", "pcre2"),
    ("no-pre", "pre"),
    ("no-search-zip", "search-zip"),
    ("no-encoding", "encoding"),
];

/// A command-line error: the Deno shim's `parseArgs` throws (the message
/// is whoever runs the command's to print).
#[derive(Debug, PartialEq)]
pub struct UsageError;

/// Whether long flag `name` exists and takes a value (`None`: no such flag).
fn takes_value(name: &str) -> Option<bool> {
    Some(match name {
        "regexp" | "max-count" | "after-context" | "before-context" | "context" | "glob"
        | "iglob" | "type" | "type-not" | "ignore-file" | "daemon" | "sort" | "color"
        | "type-add" | "type-clear" | "max-columns" | "threads" | "path-separator"
        | "context-separator" | "field-match-separator" | "field-context-separator" | "file"
        | "max-depth" | "max-filesize" | "sortr" | "pre" | "pre-glob" | "encoding" | "engine"
        | "dfa-size-limit" | "regex-size-limit"
        // rg flags the engine lacks (RG_ONLY), taking a value
        | "colors" | "replace" => true,
        "fixed-strings" | "ignore-case" | "smart-case" | "case-sensitive" | "word-regexp"
        | "line-regexp" | "invert-match" | "line-number" | "no-line-number" | "with-filename"
        | "no-filename" | "count" | "count-matches" | "files-with-matches"
        | "files-without-match" | "only-matching" | "hidden" | "no-hidden" | "no-ignore"
        | "ignore" | "no-ignore-vcs" | "ignore-vcs" | "no-ignore-exclude" | "ignore-exclude"
        | "no-ignore-dot" | "ignore-dot" | "no-ignore-parent" | "ignore-parent"
        | "no-ignore-files" | "ignore-files" | "no-ignore-global" | "ignore-global"
        | "no-ignore-messages" | "ignore-messages" | "unrestricted" | "multiline"
        | "no-multiline" | "json" | "files" | "quiet" | "help" | "version" | "no-heading"
        | "heading" | "vimgrep" | "text" | "no-text" | "type-list" | "sort-files"
        | "no-sort-files" | "no-config" | "no-messages" | "messages" | "mmap" | "no-mmap"
        | "line-buffered" | "no-line-buffered" | "block-buffered" | "no-block-buffered"
        | "null" | "column" | "no-column" | "byte-offset" | "no-byte-offset" | "trim"
        | "no-trim" | "include-zero" | "no-include-zero" | "no-context-separator"
        | "no-require-git" | "require-git" | "multiline-dotall" | "no-multiline-dotall"
        | "glob-case-insensitive" | "no-glob-case-insensitive" | "pcre2" | "no-pcre2"
        | "no-fixed-strings" | "no-json" => false,
        _ if RG_ONLY_SWITCHES.iter().any(|(n, _)| *n == name) => false,
        _ if RG_ONLY_NEGATIONS.iter().any(|(n, _)| *n == name) => false,
        _ => return None,
    })
}

/// Value-taking flags given any number of times (src/args.ts's
/// MULTI_VALUED); the others hold one value.
const MULTI_VALUED: &[&str] = &[
    "regexp",
    "file",
    "glob",
    "iglob",
    "type",
    "type-not",
    "type-add",
    "type-clear",
    "ignore-file",
    "pre-glob",
    "colors",
];

/// rg 13's parser quirk (src/args.ts's `detached`): a one-value flag given
/// again with its value as the next argument takes the arguments after it
/// up to the next flag too; more than one value is a usage error (and one
/// may leave no pattern).
fn overflows(argv: &[String], i: &mut usize, given: &mut Vec<String>, name: &str) -> bool {
    let again = given.iter().any(|g| g == name) && !MULTI_VALUED.contains(&name);
    given.push(name.to_string());
    if !again {
        return false;
    }
    let start = *i;
    while *i < argv.len() && !(argv[*i].starts_with('-') && argv[*i].len() > 1) {
        *i += 1;
    }
    *i > start
}

/// The long name of short flag `c` ("V" stands for itself: `-V` has none).
fn long_of(c: char) -> Option<&'static str> {
    Some(match c {
        'e' => "regexp",
        'F' => "fixed-strings",
        'i' => "ignore-case",
        'S' => "smart-case",
        's' => "case-sensitive",
        'w' => "word-regexp",
        'x' => "line-regexp",
        'v' => "invert-match",
        'n' => "line-number",
        'N' => "no-line-number",
        'H' => "with-filename",
        'I' => "no-filename",
        'c' => "count",
        'l' => "files-with-matches",
        'm' => "max-count",
        'A' => "after-context",
        'B' => "before-context",
        'C' => "context",
        'o' => "only-matching",
        'g' => "glob",
        't' => "type",
        'T' => "type-not",
        'u' => "unrestricted",
        'U' => "multiline",
        'q' => "quiet",
        'h' => "help",
        'V' => "V",
        'a' => "text",
        'M' => "max-columns",
        'j' => "threads",
        '0' => "null",
        'b' => "byte-offset",
        'f' => "file",
        'P' => "pcre2",
        'z' => "search-zip",
        'E' => "encoding",
        'L' => "follow",
        'p' => "pretty",
        'r' => "replace",
        _ => return None,
    })
}

fn number(v: &str) -> Result<(), UsageError> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(UsageError)
    }
}

/// The effect of a switch (src/args.ts's `on`).
fn switch(s: &mut State, name: &str) {
    match name {
        "count" => s.count = true,
        "count-matches" => s.count_matches = true,
        "files-with-matches" => s.files_with_matches = true,
        "files-without-match" => s.files_without_match = true,
        "unrestricted" => {
            s.unrestricted += 1;
            if s.unrestricted > 2 {
                s.need_rg("binary", "-uuu".into());
            }
        }
        "multiline" => s.multiline = true,
        "no-multiline" => s.multiline = false,
        "json" => s.json = true,
        "no-json" => s.json = false,
        "files" => s.p.files = true,
        "help" => s.p.help = true,
        "version" => s.p.version = true,
        "V" => {
            s.p.version = true;
            s.p.short_version = true;
        }
        "vimgrep" => s.vimgrep = true,
        "type-list" => s.type_list = true,
        _ => {
            if let Some(&(n, short)) = RG_ONLY_SWITCHES.iter().find(|(n, _)| *n == name) {
                let why = match short {
                    Some(c) => format!("-{c}/--{n}"),
                    None => format!("--{n}"),
                };
                s.need_rg(n, why);
            } else if let Some(&(_, undone)) = RG_ONLY_NEGATIONS.iter().find(|(n, _)| *n == name) {
                s.no_rg(undone);
            }
            // else: what it means is the daemon's to know
        }
    }
}

/// rg's sizes for the regex limits (src/args.ts's `regexSize`): digits and
/// an optional K, M or G, within 64 bits.
fn regex_size(v: &str) -> Result<(), UsageError> {
    let (digits, unit) = match v.strip_suffix(['K', 'M', 'G']) {
        Some(d) => (d, " KMG".find(v.chars().last().unwrap()).unwrap() as u32),
        None => (v, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UsageError);
    }
    let n: u64 = digits.parse().map_err(|_| UsageError)?;
    n.checked_mul(1u64 << (10 * unit))
        .map(|_| ())
        .ok_or(UsageError)
}

/// The effect of a flag's value (src/args.ts's `value`), or its usage error.
fn value(s: &mut State, name: &str, v: &str) -> Result<(), UsageError> {
    match name {
        "regexp" => s.patterns += 1,
        "file" if v != "-" => s.pattern_files += 1,
        "colors" => s.need_rg("colors", "--colors".into()),
        "replace" => s.need_rg("replace", "-r/--replace".into()),
        "dfa-size-limit" | "regex-size-limit" => regex_size(v)?,
        "max-count" | "after-context" | "before-context" | "context" | "max-columns"
        | "threads" | "max-depth" => number(v)?,
        "path-separator" if v.len() != 1 => return Err(UsageError),
        "color" => match v {
            "never" | "auto" => s.no_rg("color"),
            "always" | "ansi" => s.need_rg("color", format!("--color {v}")),
            _ => return Err(UsageError),
        },
        "sort" => match v {
            "path" | "none" => s.no_rg("sort"),
            "modified" | "accessed" | "created" => s.need_rg("sort", format!("--sort {v}")),
            _ => return Err(UsageError),
        },
        "file" if v == "-" => s.need_rg("file -", "-f -".into()),
        "max-filesize" => {
            let digits = v.strip_suffix(['K', 'M', 'G']).unwrap_or(v);
            number(digits)?;
        }
        "sortr" => s.need_rg("sortr", format!("--sortr {v}")),
        "pre" => s.need_rg("pre", "--pre".into()),
        "pre-glob" => s.need_rg("pre-glob", "--pre-glob".into()),
        "encoding" => s.need_rg("encoding", "--encoding".into()),
        "engine" if v != "default" => s.need_rg("engine", "--engine".into()),
        "engine" => s.no_rg("engine"),
        _ => {}
    }
    Ok(())
}

/// Parses `argv` (without the program name) as src/args.ts's `parseArgs`
/// does, as far as the shim's decisions go.
pub fn parse(argv: &[String]) -> Result<Parsed, UsageError> {
    let mut s = State::default();
    let mut positional: Vec<String> = Vec::new();
    let mut given: Vec<String> = Vec::new();
    let mut overflow = false;
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if arg == "--" {
            positional.extend(argv[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, attached) = match body.find('=') {
                Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
                None => (body, None),
            };
            match (takes_value(name).ok_or(UsageError)?, attached) {
                (true, Some(v)) => {
                    given.push(name.to_string());
                    value(&mut s, name, v)?
                }
                (true, None) => {
                    let v = argv.get(i).ok_or(UsageError)?;
                    i += 1;
                    overflow |= overflows(argv, &mut i, &mut given, name);
                    value(&mut s, name, v)?;
                }
                (false, Some(_)) => return Err(UsageError),
                (false, None) => switch(&mut s, name),
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            for (j, c) in arg.char_indices().skip(1) {
                let name = long_of(c).ok_or(UsageError)?;
                if name == "V" || !takes_value(name).ok_or(UsageError)? {
                    switch(&mut s, name);
                    continue;
                }
                // A value-taking short flag takes the rest of the group
                // (less one `=`), or the next argument.
                let rest = &arg[j + c.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                if rest.is_empty() {
                    let v = argv.get(i).ok_or(UsageError)?;
                    i += 1;
                    overflow |= overflows(argv, &mut i, &mut given, name);
                    value(&mut s, name, v)?;
                } else {
                    given.push(name.to_string());
                    value(&mut s, name, rest)?;
                }
                break;
            }
        } else {
            positional.push(arg.clone());
        }
    }
    if s.vimgrep && s.multiline {
        s.need_rg("vimgrep -U", "--vimgrep with -U/--multiline".into());
    }
    s.p.fallback = s.rg_only.first().map(|(_, why)| why.clone());
    if s.p.fallback.is_some() {
        return Ok(s.p); // rg itself parses the rest
    }
    if s.p.help || s.p.version || s.type_list {
        return Ok(s.p);
    }
    if s.patterns == 0 && s.pattern_files == 0 && !s.p.files {
        if positional.is_empty() {
            return Err(UsageError);
        }
        positional.remove(0);
    }
    if overflow {
        return Err(UsageError);
    }
    if s.json
        && (s.count
            || s.count_matches
            || s.files_with_matches
            || s.files_without_match
            || s.p.files)
    {
        return Err(UsageError);
    }
    s.p.paths = positional;
    Ok(s.p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, UsageError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn qwen_code_line() {
        let a = p(&[
            "--json",
            "--no-messages",
            "--path-separator",
            "/",
            "--ignore-case",
            "--regexp",
            "P",
            "--threads",
            "4",
            "src",
        ])
        .unwrap();
        assert_eq!(a.paths, ["src"]);
        assert_eq!(a.fallback, None);
    }

    #[test]
    fn pattern_then_paths() {
        assert_eq!(p(&["-n", "foo", "a", "-"]).unwrap().paths, ["a", "-"]);
        assert_eq!(p(&["-e", "foo"]).unwrap().paths, Vec::<String>::new());
        assert_eq!(p(&["-efoo", "x"]).unwrap().paths, ["x"]);
        assert_eq!(p(&["-e=foo", "x"]).unwrap().paths, ["x"]);
        assert_eq!(p(&["-A2", "foo", "x"]).unwrap().paths, ["x"]);
        assert_eq!(p(&["-A", "2", "foo", "--", "-x"]).unwrap().paths, ["-x"]);
        assert_eq!(p(&["--files"]).unwrap().paths, Vec::<String>::new());
        assert_eq!(p(&["-f", "pats", "x"]).unwrap().paths, ["x"]);
    }

    #[test]
    fn version_and_help() {
        let v = p(&["--version"]).unwrap();
        assert!(v.version && !v.short_version);
        let v = p(&["-V"]).unwrap();
        assert!(v.version && v.short_version);
        assert!(p(&["-nV"]).unwrap().version);
        assert!(p(&["-h"]).unwrap().help);
        // -e takes it as its pattern
        assert!(!p(&["-e", "--version"]).unwrap().version);
        // a flag only the real rg answers still lets --version be ours
        assert!(p(&["-r", "x", "--version"]).unwrap().version);
        assert!(p(&["-P", "--version"]).unwrap().version);
    }

    #[test]
    fn fallbacks() {
        let f = |args: &[&str]| p(args).unwrap().fallback;
        assert_eq!(f(&["-P", "x"]).as_deref(), Some("--pcre2"));
        assert_eq!(f(&["-P", "--no-pcre2", "x"]), None);
        assert_eq!(f(&["-z", "x"]).as_deref(), Some("--search-zip"));
        assert_eq!(f(&["-f", "-"]).as_deref(), Some("-f -"));
        assert_eq!(
            f(&["--sort", "modified", "x"]).as_deref(),
            Some("--sort modified")
        );
        assert_eq!(f(&["--sort=path", "x"]), None);
        assert_eq!(
            f(&["--sortr", "path", "x"]).as_deref(),
            Some("--sortr path")
        );
        assert_eq!(f(&["-E", "latin1", "x"]).as_deref(), Some("--encoding"));
        assert_eq!(f(&["--engine", "default", "x"]), None);
        assert_eq!(f(&["--engine=pcre2", "x"]).as_deref(), Some("--engine"));
        // The first flag in force is named; a negation takes its own out.
        assert_eq!(
            f(&["--pre-glob", "*", "-P", "x"]).as_deref(),
            Some("--pre-glob")
        );
        assert_eq!(f(&["--crlf", "--no-crlf", "x"]), None);
        assert_eq!(
            f(&["--stats", "--crlf", "--no-stats", "x"]).as_deref(),
            Some("--crlf")
        );
        assert_eq!(f(&["--no-unicode", "--unicode", "x"]), None);
        assert_eq!(f(&["-L", "x"]).as_deref(), Some("-L/--follow"));
        assert_eq!(f(&["--color", "always", "--color=never", "x"]), None);
        assert_eq!(f(&["--color=ansi", "x"]).as_deref(), Some("--color ansi"));
        assert_eq!(f(&["--sort", "modified", "--sort=path", "x"]), None);
        assert!(p(&["--color", "bogus", "x"]).is_err());
        // A one-value flag given twice, its value apart: it eats the rest.
        assert!(p(&["-m", "1", "-m", "2", "x", "src"]).is_err());
        assert!(p(&["-m", "1", "-m", "2", "3", "-e", "x"]).is_err());
        assert!(p(&["-m", "1", "-m2", "x", "src"]).is_ok());
        assert!(p(&["-g", "a", "-g", "b", "x", "src"]).is_ok());
        assert!(p(&["-m", "1", "--max-count", "2", "-e", "x"]).is_ok());
        assert_eq!(
            f(&["-P", "--pre-glob", "*", "x"]).as_deref(),
            Some("--pcre2")
        );
        // a fallback needs no pattern: rg parses the rest
        assert_eq!(f(&["-P"]).as_deref(), Some("--pcre2"));
    }

    #[test]
    fn usage_errors() {
        for args in [
            &["--no-such-flag", "x"][..],
            &["-Q", "x"],
            &[],
            &["-n"],
            &["-m", "x", "foo"],
            &["--max-count=1x", "foo"],
            &["--json=1", "foo"],
            &["--path-separator", "ab", "foo"],
            &["--sort", "size", "foo"],
            &["--max-filesize", "1T", "foo"],
            &["--json", "-c", "foo"],
            &["--regex-size-limit", "1k", "foo"],
            &["--regex-size-limit", "99999999999G", "foo"],
            &["--dfa-size-limit", "18446744073709551616", "foo"],
            &["-e"],
        ] {
            assert_eq!(p(args), Err(UsageError), "{args:?}");
        }
        assert!(p(&["--max-filesize", "10M", "foo"]).is_ok());
        assert!(p(&["-uu", "foo"]).is_ok());
        assert!(p(&["--regex-size-limit", "5G", "foo"]).is_ok());
        // Flags the engine lacks are the real rg's, as src/args.ts says.
        for args in [
            &["--vimgrep", "-U", "foo"][..],
            &["-uuu", "foo"],
            &["--replace", "x", "foo"],
        ] {
            assert!(p(args).unwrap().fallback.is_some(), "{args:?}");
        }
    }
}
