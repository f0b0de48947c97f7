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
        | "pcre2-version" | "search-zip"
        // NOT_YET switches
        | "binary" | "auto-hybrid-regex" | "crlf" | "debug" | "trace" | "follow"
        | "ignore-file-case-insensitive" | "max-columns-preview" | "no-unicode"
        | "no-pcre2-unicode" | "null-data" | "one-file-system" | "passthru" | "pretty"
        | "stats" => false,
        _ => return None,
    })
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
                s.p.fallback.get_or_insert_with(|| "-uuu".into());
            }
        }
        "multiline" => s.multiline = true,
        "no-multiline" => s.multiline = false,
        "json" => s.json = true,
        "files" => s.p.files = true,
        "help" => s.p.help = true,
        "version" => s.p.version = true,
        "V" => {
            s.p.version = true;
            s.p.short_version = true;
        }
        "vimgrep" => s.vimgrep = true,
        "type-list" => s.type_list = true,
        "pcre2" => s.p.fallback = Some("--pcre2".into()),
        "no-pcre2" if s.p.fallback.as_deref() == Some("--pcre2") => s.p.fallback = None,
        "pcre2-version" => s.p.fallback = Some("--pcre2-version".into()),
        "search-zip" => s.p.fallback = Some("--search-zip".into()),
        "binary"
        | "auto-hybrid-regex"
        | "crlf"
        | "debug"
        | "trace"
        | "follow"
        | "ignore-file-case-insensitive"
        | "max-columns-preview"
        | "no-unicode"
        | "no-pcre2-unicode"
        | "null-data"
        | "one-file-system"
        | "passthru"
        | "pretty"
        | "stats" => {
            s.p.fallback.get_or_insert_with(|| format!("--{name}"));
        }
        _ => {} // what it means is the daemon's to know
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
    let fallback = &mut s.p.fallback;
    match name {
        "regexp" => s.patterns += 1,
        "file" if v != "-" => s.pattern_files += 1,
        "colors" | "replace" => {
            fallback.get_or_insert_with(|| format!("--{name}"));
        }
        "dfa-size-limit" | "regex-size-limit" => regex_size(v)?,
        "max-count" | "after-context" | "before-context" | "context" | "max-columns"
        | "threads" | "max-depth" => number(v)?,
        "path-separator" if v.len() != 1 => return Err(UsageError),
        "sort" => match v {
            "path" | "none" => {}
            "modified" | "accessed" | "created" => {
                fallback.get_or_insert_with(|| format!("--sort {v}"));
            }
            _ => return Err(UsageError),
        },
        "file" if v == "-" => {
            fallback.get_or_insert_with(|| "-f -".into());
        }
        "max-filesize" => {
            let digits = v.strip_suffix(['K', 'M', 'G']).unwrap_or(v);
            number(digits)?;
        }
        "sortr" => {
            fallback.get_or_insert_with(|| format!("--sortr {v}"));
        }
        "pre" => *fallback = Some("--pre".into()),
        "pre-glob" => {
            fallback.get_or_insert_with(|| "--pre-glob".into());
        }
        "encoding" => {
            fallback.get_or_insert_with(|| "--encoding".into());
        }
        "engine" if v != "default" => *fallback = Some("--engine".into()),
        _ => {}
    }
    Ok(())
}

/// Parses `argv` (without the program name) as src/args.ts's `parseArgs`
/// does, as far as the shim's decisions go.
pub fn parse(argv: &[String]) -> Result<Parsed, UsageError> {
    let mut s = State::default();
    let mut positional: Vec<String> = Vec::new();
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
                (true, Some(v)) => value(&mut s, name, v)?,
                (true, None) => {
                    let v = argv.get(i).ok_or(UsageError)?;
                    i += 1;
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
                    value(&mut s, name, v)?;
                } else {
                    value(&mut s, name, rest)?;
                }
                break;
            }
        } else {
            positional.push(arg.clone());
        }
    }
    if s.vimgrep && s.multiline {
        s.p.fallback
            .get_or_insert_with(|| "--vimgrep with -U/--multiline".into());
    }
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
        assert_eq!(
            f(&["--pre-glob", "*", "-P", "x"]).as_deref(),
            Some("--pcre2")
        );
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
