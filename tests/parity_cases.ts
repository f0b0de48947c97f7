/**
 * The parity table: each case is run through `rg --sort path` and through our
 * `grep.ts`, in the fixture tree of `fixtures.ts`, and must give the same
 * stdout bytes and exit code.
 *
 * `cwd` is relative to the fixture root (default: the root itself, which
 * holds `repo/`, a git repository, and `plain/`, which is not one).
 * `{ROOT}` in an argument is replaced by the fixture root's absolute path.
 *
 * @module
 */

/** One row of the table. */
export interface ParityCase {
  /** Unique, shell-like label; use it with `deno test --filter`. */
  name: string;
  args: string[];
  /** Working directory, relative to the fixture root. */
  cwd?: string;
}

const SAFE = /^[\w@%+=:,./{}-]+$/;
const quote = (a: string) => SAFE.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;

/** A case run from the fixture root. */
const c = (...args: string[]): ParityCase => ({
  name: args.map(quote).join(" "),
  args,
});
/** A case run from a subdirectory of the fixture root. */
const at = (cwd: string, ...args: string[]): ParityCase => ({
  name: `(in ${cwd}) ${args.map(quote).join(" ")}`,
  args,
  cwd,
});

const W = "repo/text/words.txt";
const U = "repo/text/unicode.txt";
const M = "repo/text/multi.txt";
const S = "repo/text/spaces.txt";
const MAIN = "repo/src/main.rs";

export const PARITY_CASES: ParityCase[] = [
  // --- paths: none, ".", "./", subdirs, files, several, absolute, ".." -----
  c("foo"),
  c("needle"),
  c("foo", "."),
  c("foo", "./"),
  c("needle", "repo"),
  c("needle", "repo/"),
  c("needle", "./repo"),
  c("foo", "repo/src"),
  c("foo", "./repo/src/"),
  c("foo", MAIN),
  c("foo", "./repo/src/main.rs"),
  c("foo", MAIN, "repo/web"),
  c("needle", "repo/web", MAIN, "plain"),
  c("foo", "repo/sort/b.txt", "repo/sort/a.txt"),
  c("foo", "repo/sort/a b.txt"),
  c("foo", "repo/src", "repo/src"),
  c("needle", "{ROOT}/repo/src"),
  c("-n", "needle", "{ROOT}/repo/web/app.js"),
  c("foo", "{ROOT}/plain", "repo/native"),
  at("repo", "foo"),
  at("repo", "needle", "."),
  at("repo/src", "foo"),
  at("repo/src", "foo", "../web"),
  at("repo/src", "needle", ".."),
  at("repo/src", "-l", "foo", "../.."),
  at("repo/src", "foo", "../text/words.txt", "main.rs"),
  at("repo/sub", "foo"),
  at("repo/logs", "foo"),
  at("plain", "foo"),
  at("repo/deep/l1/l2", "foo", "../../.."),
  c("foo", "repo/secret.txt"),
  c("foo", "repo/build"),
  c("foo", "repo/gen"),
  c("foo", "repo/logs/local.txt", "repo/logs"),
  c("foo", "repo/sort"),
  c("-n", "foo", "repo/sort/"),

  // --- pattern syntax -------------------------------------------------------
  c("fo+", "repo/text"),
  c("[A-Z]{3,}_[A-Z]+", "repo"),
  c("foo|needle", "repo/src"),
  c("(foo|needle)\\(", "repo"),
  c("^foo", "repo/text"),
  c("foo$", "repo/text"),
  c("^$", "repo/text"),
  c("\\bfoo\\b", W),
  c("\\Bfoo", W),
  c("\\p{Greek}+", "repo"),
  c("-o", "\\p{Greek}+", U),
  c("\\p{Cyrillic}{3}", U),
  c("[[:upper:]]+_[[:upper:]]+", "repo/src"),
  c("-o", "\\d+", "repo/src", "repo/web"),
  c("(?i)needle", "repo/cmd"),
  c("-i", "(?-i)Foo", "repo/src"),
  c("\\x{3c3}", U),
  c("\\s+$", "repo/text"),
  c("\\w+σίγμα", U),
  c("needle\\b", W),
  c("", S),
  c("^", "repo/sort"),
  c("x*", "repo/sort/a.txt"),
  c("zzz_no_such_word"),
  c("zzz_no_such_word", "repo/src"),
  c("\\.", "repo/native"),
  c("σίγμα"),
  c("🦀", U),

  // --- -e ----------------------------------------------------------------------
  c("-e", "foo", "-e", "needle", "repo/src"),
  c("-e", "needle", "-e", "TODO", "-n", "repo"),
  c("-e", "^foo", "-e", "foo$", W),
  c("-e", "foo", MAIN),
  c("-e", "-foo", "repo/scripts"),
  c("--regexp=needle", "--regexp", "FOO_BAR", "repo/src"),
  c("-e", "foo", "-e", "", S),
  c("-e", "foo", "-e", "needle", "-o", W),
  c("-e", "foo", "-e", "needle", "-c", "repo/text"),

  // --- -F ----------------------------------------------------------------------
  c("-F", "foo(", "repo"),
  c("-F", "foo.bar", W),
  c("foo.bar", W),
  c("-F", "[foo]", W),
  c("-F", "-o", "(foo)", W),
  c("-Fi", "FOO_bar", "repo/src"),
  c("-F", "-e", "foo", "-e", "needle", "repo/web"),
  c("-F", "-w", "foo", W),
  c("-F", "-x", "foo", W),
  c("--fixed-strings", "$(FOO_BAR)", "repo"),

  // --- case: -i, -S, -s and last-one-wins ------------------------------------
  c("-i", "foo", "repo/text"),
  c("--ignore-case", "FOO", W),
  c("-s", "Foo", "repo/src"),
  c("-i", "-s", "Foo", "repo/src"),
  c("-s", "-i", "Foo", "repo/src"),
  c("-S", "foo", W),
  c("-S", "Foo", W),
  c("--smart-case", "foo_bar", "repo"),
  c("-i", "-S", "Foo", W),
  c("-S", "-i", "Foo", W),
  c("-S", "-s", "foo", W),
  c("-s", "-S", "foo", W),
  c("--case-sensitive", "FOO", W),
  c("-S", "\\Sfoo", W),
  c("-S", "\\bFoo", W),
  c("-i", "σίγμα", "repo"),
  c("-i", "ΣΊΓΜΑ", U),
  c("-S", "σίγμα", U),
  c("-S", "Σίγμα", U),
  c("-i", "éclair", U),
  c("-S", "Éclair", U),
  c("-i", "straße", U),
  c("-i", "москва", U),
  c("-i", "-o", "k", U),
  c("-i", "ǅ", U),
  c("-i", "ς", U),

  // --- -w ----------------------------------------------------------------------
  c("-w", "foo", W),
  c("-w", "-o", "foo", W),
  c("-wc", "foo", "repo/text"),
  c("-w", "-i", "foo", W),
  c("-w", "FOO_BAR", "repo"),
  c("-w", "needle", W),
  c("-w", "foo|bar", W),
  c("-w", "-v", "foo", W),
  c("-w", "σίγμα", U),
  c("-w", "f\\w+", W),
  c("-wn", "Foo", "repo/src"),

  // --- -x ----------------------------------------------------------------------
  c("-x", "foo", W),
  c("-x", "needle", S),
  c("-x", "-i", "FOO", W),
  c("-x", "-v", "needle", S),
  c("-x", "", S),
  c("-x", "foo|needle", "repo/text"),
  c("-x", "-c", "\\s*needle\\s*", S),
  c("--line-regexp", "-n", "needle", "repo/text"),
  c("-x", "foo", "repo/text/crlf.txt"),

  // --- -v ----------------------------------------------------------------------
  c("-v", "foo", W),
  c("-v", "-c", "foo", "repo/text"),
  c("-v", "-n", "needle", S),
  c("-v", "-l", "foo", "repo/sort"),
  c("-v", "-C1", "foo", M),
  c("-v", "", "repo/text"),
  c("-v", "-o", "foo", W),
  c("-vc", "e", "repo/text/empty.txt", S),
  c("--invert-match", "-m", "2", "foo", W),

  // --- -n / -N -----------------------------------------------------------------
  c("-n", "foo", "repo/src"),
  c("-N", "foo", "repo/src"),
  c("-n", "-N", "foo", "repo/src"),
  c("-N", "-n", "foo", "repo/src"),
  c("-n", "foo", MAIN),
  c("--line-number", "needle", "repo/text"),
  c("--no-line-number", "needle", MAIN),
  c("-in", "foo", W),
  c("-n", "needle", "repo/text/long_line.txt"),

  // --- -H / --no-filename --------------------------------------------------------
  c("-H", "foo", MAIN),
  c("--no-filename", "foo", "repo/src"),
  c("-H", "--no-filename", "foo", "repo/src"),
  c("--no-filename", "-H", "foo", MAIN),
  c("-H", "-c", "foo", MAIN),
  c("--no-filename", "-c", "foo", "repo/src"),
  c("--no-filename", "-l", "foo", "repo/src"),
  c("-nH", "needle", "repo/web/app.js"),
  c("--with-filename", "-C1", "needle", MAIN),

  // --- -c / -l / --files-without-match -------------------------------------------
  c("-c", "foo"),
  c("-c", "foo", MAIN),
  c("--count", "needle", "repo/text"),
  c("-c", "-o", "foo", W),
  c("-c", "needle", "repo/data"),
  c("-c", "-m", "2", "foo", "repo/text"),
  c("-c", "", "repo/text"),
  c("-c", "foo", "repo/text/empty.txt"),
  c("-ic", "foo", "repo/text"),
  c("-l", "foo"),
  c("-l", "needle", "repo"),
  c("-l", "-i", "σίγμα"),
  c("--files-with-matches", "TODO", "repo"),
  c("-l", "foo", MAIN),
  c("-l", "needle", "repo/data"),
  c("--files-without-match", "needle", "repo"),
  c("--files-without-match", "foo", "repo/text"),
  c("--files-without-match", "-i", "NEEDLE", "repo/src", "repo/sort"),
  c("--files-without-match", "-t", "rust", "needle", "repo"),
  c("--files-without-match", "foo", MAIN),

  // --- -m / --max-count ---------------------------------------------------------
  c("-m", "1", "foo", "repo/src"),
  c("-m1", "foo"),
  c("--max-count=2", "foo", W),
  c("--max-count", "2", "needle", "repo"),
  c("-m", "2", "-A", "1", "needle", MAIN),
  c("-m", "1", "-C", "2", "foo", M),
  c("-m", "1", "-v", "foo", W),
  c("-m", "0", "foo", "repo/sort"),
  c("-m", "1", "-c", "foo", "repo/text"),
  c("-m", "1", "-l", "foo", "repo/src"),
  c("-m", "2", "-o", "foo", W),
  c("-m1", "-n", "needle", "repo/data/late.bin"),

  // --- context -A / -B / -C --------------------------------------------------------
  c("-A", "1", "needle", MAIN),
  c("-A2", "TODO", "repo/src"),
  c("-B", "2", "needle", MAIN),
  c("-B1", "-n", "foo", M),
  c("-C", "1", "needle", MAIN),
  c("-C", "3", "needle", MAIN),
  c("-C", "1", "-n", "foo", W),
  c("-C", "2", "-v", "foo", W),
  c("-C1", "foo", M),
  c("-C", "1", "-m", "1", "needle", "repo/src"),
  c("-A", "1", "-c", "foo", "repo/src"),
  c("-C", "1", "-l", "foo", "repo/src"),
  c("-C", "2", "foo", "repo/sort"),
  c("-C", "1", "-o", "needle", MAIN),
  c("--context=1", "Foo", "repo/src"),
  c("--after-context", "1", "--before-context=2", "FOO_BAR", "repo/src"),
  c("-A", "3", "-C", "1", "needle", MAIN),
  c("-C", "1", "-A", "3", "needle", MAIN),
  c("-A", "1", "-B", "3", "bar", MAIN),
  c("-C", "1", "needle", "repo/text/no_eol.txt"),
  c("-C", "1", "needle", "repo/text/crlf.txt"),
  c("-C", "1", "-w", "needle", S),
  c("-nC1", "needle", "repo/text/long_line.txt"),

  // --- -o -------------------------------------------------------------------------
  c("-o", "foo", W),
  c("-o", "-i", "foo", W),
  c("-on", "needle", "repo/src"),
  c("-o", "f\\w+", W),
  c("-o", "-w", "needle", W),
  c("-o", "needle", "repo/text/long_line.txt"),
  c("-o", "\\w+", U),
  c("-o", "", S),
  c("-o", "x*", "repo/sort/a.txt"),
  c("-o", ".+", "repo/text/invalid_utf8.txt"),
  c("-o", "-e", "foo", "-e", "o+", W),
  c("--only-matching", "[A-Z_]{4,}", "repo/native"),

  // --- -g / --glob / --iglob ----------------------------------------------------------
  c("-g", "*.rs", "foo"),
  c("-g", "*.rs", "-g", "*.py", "foo", "repo"),
  c("-g", "!*.txt", "foo", "repo"),
  c("-g", "!*.txt", "-g", "!*.rs", "-l", "foo"),
  c("-g", "src/**", "foo", "repo"),
  at("repo", "-g", "src/*.rs", "foo"),
  at("repo", "-g", "/src/*.rs", "-l", "foo"),
  c("-g", "!sort", "-l", "foo", "repo"),
  c("-g", "!sort/", "-l", "foo", "repo"),
  c("-g", "sort/**", "foo", "repo"),
  c("-g", "repo/src/**", "-l", "foo"),
  c("-g", "repo/src/*.rs", "-l", "foo", "."),
  c("-g", "**/src/*.rs", "-l", "foo", "repo"),
  c("-g", "text/*.txt", "-l", "foo", "repo"),
  c("-g", "!**/text/**", "-l", "needle", "repo"),
  c("--glob=*.md", "foo"),
  c("-g", "*.{rs,py}", "-c", "foo"),
  c("-g", "*.txt", "-g", "!a*", "foo", "repo/sort"),
  c("-g", "!a*", "-g", "*.txt", "foo", "repo/sort"),
  c("-g", "*.log", "foo", "repo"),
  c("-g", "secret.txt", "needle", "repo"),
  c("-g", "*.py", "foo", MAIN),
  c("-g", "[ab].txt", "foo", "repo/sort"),
  c("-g", "?.txt", "-l", "foo", "repo/sort"),
  c("-g", "A*", "-l", "foo", "repo/sort"),
  c("--iglob", "a*", "-l", "foo", "repo/sort"),
  c("--iglob", "*.MD", "foo"),
  c("--iglob", "!*.TXT", "-l", "foo", "repo"),
  c("--iglob", "REPO/SRC/**", "-l", "needle"),
  c("--iglob", "SRC/**", "-l", "needle", "repo"),
  c("-g", "*.json", "--hidden", "needle", "repo"),
  c("-g", ".env", "FOO", "repo"),
  c("-g", "*.rs", "-i", "-w", "FOO", "repo"),

  // --- -t / -T ----------------------------------------------------------------------
  c("-t", "rust", "foo"),
  c("-t", "py", "foo", "repo"),
  c("-tpy", "-n", "needle"),
  c("-t", "js", "-t", "ts", "foo"),
  c("-t", "c", "needle"),
  c("-t", "cpp", "-l", "foo"),
  c("-t", "go", "-i", "needle"),
  c("-t", "java", "-w", "needle"),
  c("-t", "md", "foo"),
  c("-t", "markdown", "-l", "TODO"),
  c("-t", "json", "needle"),
  c("-t", "yaml", "-c", "needle"),
  c("-t", "toml", "needle"),
  c("-t", "make", "foo"),
  c("-t", "sh", "-o", "foo"),
  c("-t", "txt", "-l", "foo"),
  c("--type=rust", "--type", "c", "FOO_BAR"),
  c("-T", "txt", "-l", "foo"),
  c("-T", "rust", "-T", "txt", "-c", "foo", "repo"),
  c("--type-not", "txt", "needle", "repo/text", "repo/src"),
  c("-t", "txt", "-g", "!a*", "-l", "foo", "repo/sort"),
  c("-t", "rust", "foo", "repo/web/app.js"),
  c("-t", "rust", "-T", "rust", "foo"),
  c("-t", "txt", "--no-ignore", "-l", "foo"),

  // --- --hidden / --no-ignore --------------------------------------------------------
  c("--hidden", "foo", "repo"),
  c("--hidden", "FOO_BAR"),
  c("--hidden", "-l", "needle"),
  c("--hidden", "-g", "!.git", "-l", "foo"),
  c("--hidden", "-t", "json", "needle"),
  at("repo/docs", "--hidden", "foo"),
  c("--no-ignore", "foo", "repo"),
  c("--no-ignore", "-l", "needle"),
  c("--no-ignore", "foo", "plain"),
  c("--no-ignore", "--hidden", "-c", "foo"),
  c("--no-ignore", "-t", "rust", "foo"),
  c("--no-ignore", "-i", "TMP", "repo"),
  at("repo/sub", "--no-ignore", "foo"),

  // --- -U / --multiline ---------------------------------------------------------------
  c("-U", "fn foo\\(\\) \\{\\n\\s+let", "repo/src"),
  c("-U", "-o", "fn bar.*\\n.*TODO", "repo/src"),
  c("-U", "-c", "foo\\nneedle", M),
  c("-U", "-n", "begin \\w+\\n.*\\n", M),
  c("-U", "(?s)begin.*?end", M),
  c("-U", "-o", "(?s)\\{.*?\\}", MAIN),
  c("--multiline", "foo\\r\\n", "repo/text/crlf.txt"),
  c("-U", "-v", "foo\\nneedle", M),
  c("-U", "-l", "\\n\\n", "repo/text"),
  c("-U", "needle$", "repo/text/crlf.txt"),
  c("-U", "^foo$", W),
  c("-U", "-C", "1", "begin bar\\nend bar", M),
  c("-U", "-i", "-n", "FOO\\nNEEDLE", M),
  c("-U", "-w", "foo\\n", W),
  c("-U", "needle\\n", "repo/text/no_eol.txt"),
  c("-U", "-c", "\\n", S),
  c("-U", "-o", "-n", "\\}\\n\\n(pub )?fn \\w+", MAIN),
  c("-U", "foo", "repo/text"),

  // --- --json -------------------------------------------------------------------------
  c("--json", "foo", "repo/src"),
  c("--json", "needle", "repo/text/invalid_utf8.txt"),
  c("--json", "-C", "1", "needle", MAIN),
  c("--json", "foo", "repo/text/empty.txt"),
  c("--json", "-i", "σίγμα", U),
  c("--json", "-v", "needle", S),
  c("--json", "needle", "repo/data"),
  c("--json", "needle", "repo/data/early.bin"),
  c("--json", "-m", "1", "foo", "repo/src"),
  c("--json", "-U", "fn foo\\(\\) \\{\\n", "repo/src"),
  c("--json", "foo", "repo/text/crlf.txt", "repo/text/no_eol.txt"),
  c("--json", "-w", "-o", "foo", W),
  c("--json", "", S),
  c("--json", "-e", "foo", "-e", "needle", "-g", "*.py"),
  c("--json", "zzz_no_such_word", "repo/src"),
  c("--json", "-A", "1", "-m", "1", "needle", "{ROOT}/repo/src/main.rs"),

  // --- --files --------------------------------------------------------------------------
  c("--files"),
  c("--files", "repo/src"),
  c("--files", "repo/src", "repo/web/app.js"),
  c("--files", "-g", "*.rs"),
  c("--files", "-g", "!*.txt", "repo"),
  c("--files", "-t", "py"),
  c("--files", "-T", "txt", "repo"),
  c("--files", "--hidden"),
  c("--files", "--no-ignore"),
  c("--files", "--hidden", "--no-ignore", "repo"),
  c("--files", "plain"),
  c("--files", "repo/sort"),
  c("--files", "."),
  c("--files", "./repo/src"),
  c("--files", "repo/secret.txt", "repo/build"),
  c("--files", "{ROOT}/repo/sort"),
  c("--files", "-g", ".*", "repo"),
  c("--files", "--iglob", "*.MD"),
  c("--files", "-g", "sort/**", "repo"),
  at("repo", "--files"),
  at("repo/src", "--files", ".."),
  at("repo/sub", "--files", "--no-ignore"),

  // --- binary and awkward text -------------------------------------------------------
  c("needle", "repo/data"),
  c("needle", "repo/data/early.bin"),
  c("needle", "repo/data/late.bin"),
  c("-n", "foo", "repo/data/late.bin", "repo/data/early.bin"),
  c("-l", "binary", "repo/data"),
  c("-c", "foo", "repo/data/late.bin"),
  c("foo", "repo/text/crlf.txt"),
  c("-n", "foo", "repo/text/no_eol.txt"),
  c("foo", "repo/text/invalid_utf8.txt"),
  c("-i", "CAF.", "repo/text/invalid_utf8.txt"),
  c("needle", "repo/text/long_line.txt"),

  // --- combined short flags and "--" --------------------------------------------------
  c("-in", "needle", "repo/cmd"),
  c("-iwo", "foo", W),
  c("-nA1", "TODO", "repo/src"),
  c("-vn", "foo", W),
  c("-lv", "foo", "repo/text"),
  c("--", "-foo", "repo/scripts"),
  c("-n", "--", "--foo-flag", "repo"),
  c("-e", "--foo-flag", "repo/scripts/run.sh"),
  c("-o", "--", "-needle", "repo"),

  // --- errors (exit 2) ---------------------------------------------------------------
  c("foo("),
  c("foo(", "repo"),
  c("[z-a]", "repo"),
  c("foo", "nonexistent.txt", "repo/src"),
  c("foo", "repo/sort/a.txt", "no/such/dir"),
  c("foo", "nonexistent.txt"),
  c("-l", "needle", "nonexistent", "repo/src"),
  c("--files", "nonexistent", "repo/src"),
  c("--bogus-flag", "foo"),
  c("-t", "nosuch", "foo"),
  c("-m", "abc", "foo"),
  c("--json", "-c", "foo"),
  // nothing searched: rg warns and exits 2 only when it used the default path
  c("-g", "nomatch_glob", "foo"),
  at("repo/gen", "foo"),
  c("-t", "rust", "foo", "repo/text"),
  c("--files", "-g", "nomatch_glob"),
  { name: "(no arguments)", args: [] },
  // --- regression: the needle prefilter must keep non-ASCII case variants ---
  c("-i", "sherlock", "repo/text/fold.txt"),
  c("-i", "-n", "sherlock|holmes", "repo/text"),
  c("-i", "-o", "kelvin", "repo/text/fold.txt"),
  c("-i", "-w", "kelvin|zzzz", "repo/text"),
  c("-i", "-c", "something"),
  c("-S", "straße", "repo/text/fold.txt"),
  c("-i", "-x", "kelvin \u212aelvin", "repo/text/fold.txt"),
  // whole needles for files without ſ or the Kelvin sign, split ones for those with
  c("-i", "-n", "the \u017Fherlock|plain holmes|kelvin kelvin", "repo/text"),
  c("-i", "-c", "needle something"),
  // --- regression: an empty match after the final newline is not a line ---
  c("-n", "^$", S),
  c("-c", "^$"),
  c("-n", "-v", "x*", "repo/text/no_eol.txt"),

  // --- the command lines coding agents send (DESIGN.md "Contracts" 4) -------------
  ...agentCases(),
  // --- ignore-file flags in other combinations -------------------------------------
  c("--ignore-file", "proj/.extraignore", "-l", "needle", "proj"),
  c("--ignore-file", "proj/.qwenignore", "--ignore-file", "proj/.extraignore", "needle", "proj"),
  c("--ignore-file", "proj/.qwenignore", "--no-ignore-files", "-l", "needle", "proj"),
  c("--no-ignore-files", "--ignore-file", "proj/.qwenignore", "-l", "needle", "proj"),
  c("--ignore-file", "proj/.qwenignore", "--no-ignore", "-l", "needle", "proj"),
  c("--ignore-file", "proj/.qwenignore", "-g", "*.key", "-l", "needle", "proj"),
  c("--ignore-file", "proj/.qwenignore", "--files", "proj"),
  c("--ignore-file", "proj/.qwenignore", "-c", "needle"),
  c("--ignore-file", "proj/.geminiignore", "-l", "needle", "proj/src", "proj/docs"),
  c("--ignore-file", "repo/.ignore", "-l", "foo", "repo"),
  c("--ignore-file", "no/such/ignorefile", "-l", "needle", "proj"),
  c("--ignore-file=proj/.qwenignore", "-t", "ts", "needle"),
  at("proj", "--ignore-file", ".qwenignore", "-l", "needle"),
  at("proj/src", "--ignore-file", "../.geminiignore", "-l", "needle", ".."),
  c("--no-ignore-vcs", "-l", "needle", "proj"),
  c("--no-ignore-vcs", "--files", "repo"),
  c("--no-ignore-exclude", "-l", "needle", "proj"),
  c("--no-ignore-exclude", "--files", "repo"),
  c("--no-ignore-dot", "--files", "repo"),
  c("--no-ignore-dot", "-l", "foo", "plain"),
  c("--no-ignore-parent", "-l", "foo", "repo/logs"),
  at("repo/sub", "--no-ignore-parent", "--files"),
  c("--no-ignore-vcs", "--ignore-vcs", "-l", "needle", "proj"),
  c("-u", "-l", "needle", "proj"),
  c("-uu", "--files", "proj"),
  c("--path-separator", "/", "-n", "needle", "proj/src"),
  c("--path-separator=/", "--files", "proj"),
  c("--no-messages", "foo", "nonexistent.txt", "repo/src"),
  c("--no-messages", "--json", "needle", "nonexistent", "proj/src"),
  c("--no-messages", "-g", "nomatch_glob", "foo"),
  c("-q", "--files"),
  c("--quiet", "--files", "nonexistent"),
  c("-q", "--files", "-g", "nomatch_glob", "proj"),
  c("--threads", "4", "-j", "2", "-c", "needle", "proj"),
  c("--mmap", "--no-mmap", "-l", "needle", "proj"),
  c("--sort-files", "needle", "proj/src"),
  // -f/--file
  c("-f", "proj/pats/two.txt", "proj/src"),
  c("-n", "--file=proj/pats/two.txt", "-e", "needle", "proj/src"),
  c("-f", "proj/pats/crlf.txt", "-c", "proj/src"),
  c("-f", "proj/pats/blank_line.txt", "-c", "proj/src"),
  c("-f", "proj/pats/empty.txt", "proj/src"),
  c("-f", "proj/pats/empty.txt", "-v", "-c", "proj/src"),
  c("-f", "proj/pats/two.txt", "-f", "proj/pats/crlf.txt", "-l", "proj"),
  c("-f", "proj/pats/nothere.txt", "proj/src"),
  c("-F", "-f", "proj/pats/two.txt", "--json", "proj/src/util.ts"),
  at("proj", "-f", "pats/two.txt", "-i"),
  // --max-depth, --max-filesize
  c("--max-depth", "1", "--files", "proj"),
  c("--max-depth", "2", "-l", "needle", "proj"),
  c("--max-depth", "0", "needle", "proj"),
  c("--max-depth", "0", "needle", "proj/README.md"),
  c("--max-depth=1", "-c", "foo", "repo", "plain"),
  c("--max-filesize", "40", "--files", "proj"),
  c("--max-filesize", "1K", "-l", "needle", "repo"),
  c("--max-filesize", "10", "needle", "proj/README.md"),
  c("--max-filesize", "1M", "-c", "needle"),
  c("--max-filesize", "2X", "needle"),
  // --no-require-git, --glob-case-insensitive, --multiline-dotall
  c("--no-require-git", "--files", "plain"),
  c("--no-require-git", "-l", "foo"),
  c("--no-require-git", "--require-git", "--files", "plain"),
  c("--glob-case-insensitive", "-g", "*.MD", "-l", "needle", "proj"),
  c("--glob-case-insensitive", "-g", "!*.TS", "-g", "*.Ts", "--files", "proj/src"),
  c("-U", "--multiline-dotall", "start.needle", "proj/bom"),
  c("-U", "--multiline-dotall", "-o", "two.*four", "proj/docs/guide.md"),
  c("--multiline-dotall", "two.*four", "proj/docs/guide.md"),
  c("-U", "--multiline-dotall", "--no-multiline-dotall", "-c", "two.*four", "proj/docs"),
  // --column, -b, --null, --trim, --include-zero, separators
  c("--column", "foo", W),
  c("--column", "-C1", "needle", MAIN),
  c("--column", "-v", "foo", W),
  c("--column", "-o", "-n", "foo", W),
  c("--column", "-N", "foo", W),
  c("--column", "-U", "fn foo\\(\\) \\{\\n\\s+let", "repo/src"),
  c("--column", "-c", "foo", "repo/text"),
  c("--column", "--json", "foo", W),
  c("-b", "foo", W),
  c("-b", "-o", "foo", W),
  c("--byte-offset", "-n", "-C1", "needle", "proj/docs"),
  c("-b", "--column", "-H", "needle", "proj/src"),
  c("-b", "-U", "needle at the start\\nfoo", "proj/bom"),
  c("--null", "foo", "repo/src"),
  c("-0", "-c", "foo", "repo/text"),
  c("-0", "-l", "needle", "proj"),
  c("--null", "--files-without-match", "needle", "proj/src", "proj/docs"),
  c("-0", "--files", "proj"),
  c("--null", "-n", "-C1", "needle", "proj/docs"),
  c("--null", "--json", "needle", "proj/src"),
  c("--trim", "foo", "repo/src"),
  c("--trim", "-n", "-C1", "needle", "proj/src"),
  c("--trim", "--no-trim", "foo", "repo/src"),
  c("--include-zero", "-c", "foo", "repo/text"),
  c("--include-zero", "--count-matches", "needle", "proj/src"),
  c("--include-zero", "-c", "needle", "proj/README.md"),
  c("--include-zero", "-l", "foo", "repo/text"),
  c("--context-separator", "XX", "-C1", "needle", "proj/docs"),
  c("--context-separator=\\x7e\\t~", "-A1", "foo", "repo/src"),
  c("--context-separator", "", "-C1", "needle", "proj/docs/guide.md"),
  c("--no-context-separator", "-C1", "needle", "proj/docs"),
  c("--no-context-separator", "-C1", "foo", "repo/src", "repo/text"),
  c("--field-match-separator", "@", "--field-context-separator=#", "-n", "-C1", "needle", "proj"),
  c("--field-match-separator", "::", "-c", "needle", "proj"),
  c("--path-separator", "\\", "-l", "needle", "proj"),
  c("--path-separator", "+", "--files", "proj/src"),
  c("--path-separator", "+", "--json", "needle", "proj/src"),
  c("--path-separator", "ab", "needle", "proj"),
  // a UTF-8 byte-order mark is skipped for matching
  c("^needle", "proj/bom"),
  c("-n", "^needle", "proj/bom/bom.txt"),
  c("--json", "^needle", "proj/bom"),
  c("-o", "^.", "proj/bom/bom.txt"),
  c("-c", "^", "proj/bom"),
  c("-v", "-n", "zzz", "proj/bom"),
  c("--files-without-match", "needle", "proj/bom"),
  c("-x", "", "proj/bom/only_bom.txt"),
  // multi-line --json stats count every line of a match
  c("--json", "-U", "needle at the start\nfoo", "proj/bom"),
  c("--json", "-U", "one\ntwo\nneedle", "proj/docs"),
  c("--json", "-U", "-e", "one\ntwo", "-e", "five\nsix", "proj/docs/guide.md"),
  // a linked git worktree reads the main repository's info/exclude
  c("--files", "wt"),
  c("needle", "wt"),
  at("wt", "-l", "needle"),
  c("--no-ignore-exclude", "needle", "wt"),
];

/**
 * qwen-code 0.24.4's and gemini-cli 0.61.0's grep command lines (their
 * optional parts taken and left out, their ignore files present, absent
 * and missing), with PATH relative and absolute.
 */
function agentCases(): ParityCase[] {
  const cases: ParityCase[] = [];
  const qwen = (p: string, extra: string[], path: string) => [
    "--json",
    "--no-messages",
    "--path-separator",
    "/",
    "--ignore-case",
    "--regexp",
    p,
    ...extra,
    "--threads",
    "4",
    path,
  ];
  for (const path of ["proj", "{ROOT}/proj", "."]) {
    const ignore = path === "." ? "proj/.qwenignore" : `${path}/.qwenignore`;
    cases.push(c(...qwen("needle", [], path)));
    cases.push(c(...qwen("needle", ["--ignore-file", ignore], path)));
    cases.push(c(...qwen("handler", ["--no-ignore-vcs", "--ignore-file", ignore], path)));
    cases.push(c(...qwen("needle", ["--ignore-file", ignore, "--glob", "*.ts"], path)));
  }
  cases.push(c(...qwen("needle", ["--ignore-file", "proj/.nothere", "--glob", "**/*.md"], "proj")));
  cases.push(c(...qwen("TODO|Needle", ["--no-ignore-vcs"], "proj/src")));
  cases.push(c(...qwen("needle", ["--ignore-file", "proj/.qwenignore"], "proj/docs/guide.md")));
  const gemini = (p: string, opts: string[], path: string, ignore?: string) => [
    "--json",
    ...opts,
    "--regexp",
    p,
    "--glob",
    "!**/node_modules/**",
    "--glob",
    "!**/.git/**",
    ...(ignore ? ["--ignore-file", ignore] : []),
    "--threads",
    "4",
    path,
  ];
  for (const path of ["proj", "{ROOT}/proj"]) {
    const ignore = `${path}/.geminiignore`;
    cases.push(c(...gemini("needle", ["--ignore-case"], path, ignore)));
    cases.push(c(...gemini("needle", ["--ignore-case"], path)));
    cases.push(c(...gemini("foo.bar(", ["--fixed-strings"], path, ignore)));
    cases.push(c(...gemini("needle", ["--context", "1"], path, ignore)));
    cases.push(c(...gemini("needle", ["--after-context", "2", "--max-count", "1"], path, ignore)));
    cases.push(c(...gemini("needle", ["--before-context", "1"], path)));
    cases.push(c(...gemini("needle", ["--no-ignore"], path, ignore)));
    cases.push(
      c(...gemini("needle", ["--ignore-case", "--no-ignore-vcs", "--no-ignore-exclude"], path)),
    );
    cases.push(
      c(...gemini(
        "needle",
        ["--glob", "*.md", "--no-ignore-vcs", "--no-ignore-exclude"],
        path,
        ignore,
      )),
    );
  }
  cases.push(c(...gemini("needle", ["--ignore-case"], "proj", "proj/.nothere")));
  cases.push(c(...gemini("needle", ["--max-count", "1", "--glob", "*.ts"], "proj/src")));
  return cases;
}
