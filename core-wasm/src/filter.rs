//! Which files a search looks at, decided as ripgrep's walker decides:
//! glob overrides first, then ignore files (deepest directory wins,
//! `.rgignore` over `.ignore` over `.gitignore` over `.git/info/exclude`),
//! then file types, then hidden names. The matching itself is BurntSushi's
//! `ignore` crate; this module only feeds it text the host read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::overrides::{Override, OverrideBuilder};
use ignore::types::{Types, TypesBuilder};
use ignore::Match;

use crate::default_types::DEFAULT_TYPES;

/// Glob (`-g`, `--iglob`), `--ignore-file` and type (`-t`, `-T`) filters.
#[derive(Clone, Debug)]
pub struct Selector {
    overrides: Override,
    types: Types,
    /// `--ignore-file` rules, last file first (rg's order), matched against
    /// paths as printed: below every directory's own ignore files.
    explicit: Vec<Gitignore>,
    /// The inputs it was built from, as one string: equal keys select the
    /// same files (see [`crate::corpus::Corpus::selection`]).
    pub key: String,
}

/// The inputs of a [`Selector`] as one string.
fn selector_key(
    cwd: &str,
    globs: &[String],
    iglobs: &[String],
    types: &[String],
    types_not: &[String],
    ignore_files: &[String],
    edits: &TypeEdits,
) -> String {
    format!("{cwd:?} {globs:?} {iglobs:?} {types:?} {types_not:?} {ignore_files:?} {edits:?}")
}

/// `--type-clear` and `--type-add` changes to rg's type table (clears
/// first, then additions, as rg applies them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeEdits {
    pub add: Vec<String>,
    pub clear: Vec<String>,
}

impl TypeEdits {
    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.clear.is_empty()
    }
}

/// rg's type table with `edits` applied.
fn type_table(edits: &TypeEdits) -> Result<TypesBuilder, String> {
    let mut tb = TypesBuilder::new();
    for (name, globs) in DEFAULT_TYPES {
        for glob in *globs {
            tb.add(name, glob).map_err(|e| e.to_string())?;
        }
    }
    for name in &edits.clear {
        tb.clear(name);
    }
    for def in &edits.add {
        tb.add_def(def).map_err(|e| e.to_string())?;
    }
    Ok(tb)
}

/// `--type-list`: each type with its globs, one per line, by name.
pub fn type_list(edits: &TypeEdits) -> Result<String, String> {
    let mut out = String::new();
    for def in type_table(edits)?.definitions() {
        out.push_str(&format!("{}: {}\n", def.name(), def.globs().join(", ")));
    }
    Ok(out)
}

/// An `--ignore-file`'s rules as rg builds them: rooted at the empty path,
/// so a pattern with a slash is anchored to the start of the printed path.
fn explicit_ignore(text: &str) -> Gitignore {
    let mut b = GitignoreBuilder::new("");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        let _ = b.add_line(None, line);
    }
    b.build().unwrap_or_else(|_| Gitignore::empty())
}

impl Selector {
    /// `cwd` is the directory globs with a slash are anchored to.
    pub fn new(
        cwd: &str,
        globs: &[String],
        iglobs: &[String],
        types: &[String],
        types_not: &[String],
    ) -> Result<Selector, String> {
        Selector::with_ignore_files(cwd, globs, iglobs, types, types_not, &[], &TypeEdits::default())
    }

    /// [`Selector::new`] with the text of each `--ignore-file` and changes to
    /// the type table.
    pub fn with_ignore_files(
        cwd: &str,
        globs: &[String],
        iglobs: &[String],
        types: &[String],
        types_not: &[String],
        ignore_files: &[String],
        edits: &TypeEdits,
    ) -> Result<Selector, String> {
        let key = selector_key(cwd, globs, iglobs, types, types_not, ignore_files, edits);
        let explicit = ignore_files.iter().rev().map(|t| explicit_ignore(t)).collect();
        let overrides = if globs.is_empty() && iglobs.is_empty() {
            Override::empty()
        } else {
            let mut b = OverrideBuilder::new(cwd);
            for g in globs {
                b.add(g).map_err(|e| e.to_string())?;
            }
            b.case_insensitive(true).map_err(|e| e.to_string())?;
            for g in iglobs {
                b.add(g).map_err(|e| e.to_string())?;
            }
            b.build().map_err(|e| e.to_string())?
        };
        // rg's type table takes ~0.5 ms to load in WebAssembly: only when
        // asked (a bad --type-add is an error even so).
        let types = if types.is_empty() && types_not.is_empty() && edits.is_empty() {
            Types::empty()
        } else {
            let mut tb = type_table(edits)?;
            for t in types {
                tb.select(t);
            }
            for t in types_not {
                tb.negate(t);
            }
            tb.build().map_err(|e| e.to_string())?
        };
        Ok(Selector { overrides, types, explicit, key })
    }

    /// [`Selector::new`], remembered: a glob with a directory part compiles
    /// to a regex, ~0.56 ms in WebAssembly for `docs/**/*.yml`, and rg's
    /// type table takes ~0.5 ms, paid by every search and listing, once per
    /// shard, with the same filters an agent sends again and again.
    pub fn cached(
        cwd: &str,
        globs: &[String],
        iglobs: &[String],
        types: &[String],
        types_not: &[String],
    ) -> Result<Rc<Selector>, String> {
        Selector::cached_with_ignore_files(cwd, globs, iglobs, types, types_not, &[], &TypeEdits::default())
    }

    /// [`Selector::cached`] with the text of each `--ignore-file`.
    pub fn cached_with_ignore_files(
        cwd: &str,
        globs: &[String],
        iglobs: &[String],
        types: &[String],
        types_not: &[String],
        ignore_files: &[String],
        edits: &TypeEdits,
    ) -> Result<Rc<Selector>, String> {
        /// Distinct filter sets kept; past it, the cache starts over.
        const KEPT: usize = 64;
        thread_local! {
            static BUILT: RefCell<HashMap<String, Rc<Selector>>> = RefCell::new(HashMap::new());
        }
        let key = selector_key(cwd, globs, iglobs, types, types_not, ignore_files, edits);
        if let Some(hit) = BUILT.with(|b| b.borrow().get(&key).cloned()) {
            return Ok(hit);
        }
        let built =
            Rc::new(Selector::with_ignore_files(cwd, globs, iglobs, types, types_not, ignore_files, edits)?);
        BUILT.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() >= KEPT {
                b.clear();
            }
            b.insert(key, Rc::clone(&built));
        });
        Ok(built)
    }

    pub fn is_empty(&self) -> bool {
        self.overrides.is_empty() && self.types.is_empty() && self.explicit.is_empty()
    }

    /// The `--ignore-file` verdict: the last file with an opinion decides.
    fn explicit_match(&self, path: &str, is_dir: bool) -> Option<bool> {
        let path = path.strip_prefix("./").unwrap_or(path);
        self.explicit.iter().find_map(|gi| verdict(gi.matched(path, is_dir)))
    }

    /// The override verdict alone: `Some(true)` ignore, `Some(false)`
    /// whitelist, `None` no opinion. `path` is the path as rg prints it.
    fn override_match(&self, path: &str, is_dir: bool) -> Option<bool> {
        verdict(self.overrides.matched(path, is_dir))
    }

    fn type_match(&self, path: &str, is_dir: bool) -> Option<bool> {
        verdict(self.types.matched(path, is_dir))
    }

    /// Whether a glob excludes a directory (by its printed path), and so
    /// everything below it. A file under a search root is selected when no
    /// directory between root and file is excluded and [`Selector::selects_name`].
    pub fn excludes_dir(&self, dir: &str) -> bool {
        match self.override_match(dir, true) {
            Some(ignored) => ignored,
            None => self.explicit_match(dir, true) == Some(true),
        }
    }

    /// Whether these globs or types make rg search an entry that a walk
    /// without them skips (`hidden`: skipped only for its dot name, not by
    /// an ignore rule). A glob's whitelist overrides ignore rules and hidden
    /// names alike; a type's only hidden names.
    pub fn rescues(&self, shown: &str, is_dir: bool, hidden: bool) -> bool {
        match self.override_match(shown, is_dir) {
            Some(ignored) => !ignored,
            None if self.explicit_match(shown, is_dir) == Some(true) => false,
            None => hidden && self.type_match(shown, is_dir) == Some(false),
        }
    }

    /// The verdict on a file's own printed path, its directories aside.
    pub fn selects_name(&self, path: &str) -> bool {
        match self.override_match(path, false) {
            Some(ignored) => !ignored,
            None if self.explicit_match(path, false) == Some(true) => false,
            None => self.type_match(path, false) != Some(true),
        }
    }
}

fn verdict<T>(m: Match<T>) -> Option<bool> {
    match m {
        Match::None => None,
        Match::Ignore(_) => Some(true),
        Match::Whitelist(_) => Some(false),
    }
}

/// The ignore files of one directory.
#[derive(Debug)]
struct Level {
    parent: Option<usize>,
    rgignore: Gitignore,
    ignore: Gitignore,
    gitignore: Gitignore,
    exclude: Gitignore,
    has_git: bool,
}

/// Ignore rules of the directories being walked, each level knowing its
/// parent, with the walk options. Paths given to it are absolute.
#[derive(Debug)]
pub struct IgnoreTree {
    levels: Vec<Level>,
    pub hidden: bool,
    pub no_ignore: bool,
    selector: Rc<Selector>,
}

/// The text of one directory's ignore files (empty when absent).
#[derive(Default)]
pub struct DirIgnoreFiles<'a> {
    pub rgignore: &'a str,
    pub ignore: &'a str,
    pub gitignore: &'a str,
    /// `.git/info/exclude`, read only where `.git` exists.
    pub exclude: &'a str,
    pub has_git: bool,
}

fn build_gitignore(dir: &Path, file_name: &str, text: &str) -> Gitignore {
    let mut b = GitignoreBuilder::new(dir);
    let from = dir.join(file_name);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        // Invalid globs are skipped, as rg skips them (with a warning).
        let _ = b.add_line(Some(from.clone()), line);
    }
    b.build().unwrap_or_else(|_| Gitignore::empty())
}

impl IgnoreTree {
    pub fn new(hidden: bool, no_ignore: bool, selector: Rc<Selector>) -> IgnoreTree {
        IgnoreTree { levels: Vec::new(), hidden, no_ignore, selector }
    }

    /// Adds a directory's rules below `parent`; returns its level id.
    pub fn add_dir(&mut self, parent: Option<usize>, dir: &str, files: &DirIgnoreFiles) -> usize {
        let dir = PathBuf::from(dir);
        let level = if self.no_ignore {
            Level {
                parent,
                rgignore: Gitignore::empty(),
                ignore: Gitignore::empty(),
                gitignore: Gitignore::empty(),
                exclude: Gitignore::empty(),
                has_git: files.has_git,
            }
        } else {
            Level {
                parent,
                rgignore: build_gitignore(&dir, ".rgignore", files.rgignore),
                ignore: build_gitignore(&dir, ".ignore", files.ignore),
                gitignore: build_gitignore(&dir, ".gitignore", files.gitignore),
                exclude: build_gitignore(&dir, ".git/info/exclude", files.exclude),
                has_git: files.has_git,
            }
        };
        self.levels.push(level);
        self.levels.len() - 1
    }

    fn chain(&self, level: usize) -> impl Iterator<Item = &Level> {
        let mut next = Some(level);
        std::iter::from_fn(move || {
            let l = &self.levels[next?];
            next = l.parent;
            Some(l)
        })
    }

    /// The ignore-file verdict for an absolute path inside directory
    /// `level`: the deepest match of each kind, kinds in rg's precedence.
    fn ignore_match(&self, level: usize, abs: &str, is_dir: bool) -> Option<bool> {
        let any_git = self.chain(level).any(|l| l.has_git);
        let (mut rg, mut ig, mut git, mut ex) = (None, None, None, None);
        let mut saw_git = false;
        for l in self.chain(level) {
            rg = rg.or_else(|| verdict(l.rgignore.matched(abs, is_dir)));
            ig = ig.or_else(|| verdict(l.ignore.matched(abs, is_dir)));
            if any_git && !saw_git {
                git = git.or_else(|| verdict(l.gitignore.matched(abs, is_dir)));
                ex = ex.or_else(|| verdict(l.exclude.matched(abs, is_dir)));
            }
            saw_git = saw_git || l.has_git;
        }
        rg.or(ig).or(git).or(ex)
    }

    /// Whether a directory entry found while walking should be skipped.
    /// `abs` is its absolute path, `shown` its path as rg would print it.
    /// (The walk asks [`IgnoreTree::verdict`]; the tests ask this.)
    #[cfg(test)]
    pub fn skips(&self, level: usize, abs: &str, shown: &str, name: &str, is_dir: bool) -> bool {
        self.verdict(level, abs, shown, name, is_dir) != Verdict::Keep
    }

    /// What the walk does with an entry, and why.
    pub fn verdict(&self, level: usize, abs: &str, shown: &str, name: &str, is_dir: bool) -> Verdict {
        let rule = |skip: bool| if skip { Verdict::SkipByRule } else { Verdict::Keep };
        if let Some(ignored) = self.selector.override_match(shown, is_dir) {
            return rule(ignored);
        }
        let ignored = self.ignore_match(level, abs, is_dir);
        let ignored = ignored.or_else(|| self.selector.explicit_match(shown, is_dir));
        let whitelisted = match ignored {
            Some(true) => return Verdict::SkipByRule,
            Some(false) => true,
            None => false,
        };
        let whitelisted = match self.selector.type_match(shown, is_dir) {
            Some(true) => return Verdict::SkipByRule,
            Some(false) => true,
            None => whitelisted,
        };
        if !whitelisted && !self.hidden && name.starts_with('.') {
            Verdict::SkipHidden
        } else {
            Verdict::Keep
        }
    }
}

/// What a walk does with a directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Excluded by a glob, an ignore rule or a type.
    SkipByRule,
    /// Skipped for its dot name alone.
    SkipHidden,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_selectors_are_shared_per_filter_set() {
        let g = |s: &str| vec![s.to_string()];
        let a = Selector::cached("/r", &g("docs/**/*.yml"), &[], &[], &[]).unwrap();
        let b = Selector::cached("/r", &g("docs/**/*.yml"), &[], &[], &[]).unwrap();
        let other_cwd = Selector::cached("/s", &g("docs/**/*.yml"), &[], &[], &[]).unwrap();
        let as_type = Selector::cached("/r", &[], &[], &g("yaml"), &[]).unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        assert!(!Rc::ptr_eq(&a, &other_cwd) && !Rc::ptr_eq(&a, &as_type));
        assert!(a.selects_name("docs/x/y.yml") && !a.selects_name("src/y.yml"));
        assert!(Selector::cached("/r", &g("a/{b"), &[], &[], &[]).is_err());
    }

    fn tree(gitignore: &str, has_git: bool) -> IgnoreTree {
        let sel = Selector::new("/w", &[], &[], &[], &[]).unwrap();
        let mut t = IgnoreTree::new(false, false, Rc::new(sel));
        t.add_dir(None, "/w", &DirIgnoreFiles { gitignore, has_git, ..Default::default() });
        t
    }

    #[test]
    fn gitignore_needs_a_repo() {
        assert!(tree("*.log\n", true).skips(0, "/w/a.log", "a.log", "a.log", false));
        assert!(!tree("*.log\n", false).skips(0, "/w/a.log", "a.log", "a.log", false));
    }

    #[test]
    fn negation_and_hidden() {
        let t = tree("*.log\n!keep.log\n!.env\n", true);
        assert!(!t.skips(0, "/w/keep.log", "keep.log", "keep.log", false));
        // A whitelist rule makes a hidden file visible, as in rg.
        assert!(!t.skips(0, "/w/.env", ".env", ".env", false));
        assert!(t.skips(0, "/w/.other", ".other", ".other", false));
    }

    #[test]
    fn globs_rescue_what_rules_skip_and_types_only_hidden_names() {
        let sel = |globs: &[&str], types: &[&str]| {
            let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
            let types: Vec<String> = types.iter().map(|g| g.to_string()).collect();
            Selector::new("/w", &globs, &[], &types, &[]).unwrap()
        };
        assert!(sel(&["*.log"], &[]).rescues("a.log", false, false));
        assert!(sel(&["docs/*"], &[]).rescues("docs/build", true, false));
        assert!(!sel(&["*.log"], &[]).rescues("dist", true, false));
        assert!(!sel(&["*.py", "!*.log"], &[]).rescues("a.log", false, false));
        assert!(sel(&[], &["sh"]).rescues(".env.sh", false, true));
        assert!(!sel(&[], &["sh"]).rescues("ignored.sh", false, false));
    }

    #[test]
    fn globs_override_everything() {
        let sel = Selector::new("/w", &["*.log".into()], &[], &[], &[]).unwrap();
        let mut t = IgnoreTree::new(false, false, Rc::new(sel));
        t.add_dir(None, "/w", &DirIgnoreFiles { gitignore: "*.log\n", has_git: true, ..Default::default() });
        assert!(!t.skips(0, "/w/a.log", "a.log", "a.log", false));
        assert!(t.skips(0, "/w/a.txt", "a.txt", "a.txt", false));
        assert!(!t.skips(0, "/w/sub", "sub", "sub", true));
    }

    #[test]
    fn ignore_files_rank_below_directory_rules_and_anchor_at_printed_paths() {
        let files = ["src/b.log\n".to_string(), "*.md\n!keep.md\n".to_string()];
        let sel =
            Selector::with_ignore_files("/w", &[], &[], &[], &[], &files, &TypeEdits::default()).unwrap();
        assert!(!sel.selects_name("src/b.log") && !sel.selects_name("./src/b.log"));
        assert!(sel.selects_name("/w/src/b.log") && sel.selects_name("x/src/b.log"));
        assert!(!sel.selects_name("a.md") && sel.selects_name("keep.md"));
        let mut t = IgnoreTree::new(false, false, Rc::new(sel));
        t.add_dir(None, "/w", &DirIgnoreFiles { gitignore: "!x.md\n", has_git: true, ..Default::default() });
        assert!(t.skips(0, "/w/a.md", "a.md", "a.md", false));
        // The directory's own whitelist outranks the ignore file.
        assert!(!t.skips(0, "/w/x.md", "x.md", "x.md", false));
    }

    #[test]
    fn type_edits_clear_then_add() {
        let edits =
            TypeEdits { add: vec!["web:include:js,py".into(), "foo:*.foo".into()], clear: vec!["ts".into()] };
        let sel = Selector::with_ignore_files("/w", &[], &[], &["web".into()], &[], &[], &edits).unwrap();
        // `web` holds what it includes; `ts` is gone.
        assert!(sel.selects_name("a.js") && !sel.selects_name("a.ts"));
        let list = type_list(&edits).unwrap();
        assert!(list.contains("\nfoo: *.foo\n") && !list.contains("\nts: "));
        let bad = TypeEdits { add: vec!["bad".into()], clear: vec![] };
        assert!(Selector::with_ignore_files("/w", &[], &[], &[], &[], &[], &bad).is_err());
    }

    #[test]
    fn types_select_by_name() {
        let sel = Selector::new("/w", &[], &[], &["rust".into()], &[]).unwrap();
        assert!(!sel.excludes_dir("src") && sel.selects_name("src/lib.rs"));
        assert!(!sel.selects_name("src/lib.py"));
    }
}
