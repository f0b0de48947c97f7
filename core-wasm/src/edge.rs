//! The JavaScript edge: every `#[wasm_bindgen]` export lives here. Requests
//! cross as JSON text and file bytes as raw buffers in linear memory; errors
//! are converted once, here, into JS `Error`s with rg-style messages.

use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::corpus::Corpus;
use crate::filter::{DirIgnoreFiles, IgnoreTree, Selector, TypeEdits, Verdict};
use crate::grep::{self, display_join, GrepRequest, Root};
use crate::limits::{HostWord, Interrupt, Stop};
use crate::matcher::{CaseMode, PatternOptions, DEFAULT_DFA_SIZE_LIMIT, DEFAULT_SIZE_LIMIT};
use crate::printer::{LineStyle, OutputKind};
use crate::search::SearchConfig;

#[wasm_bindgen]
extern "C" {
    /// The host's word on a running search (src/core.ts defines it): 0 to
    /// go on, 1 when it was cancelled, 2 when its time ran out, 3 to pause
    /// after the current file (another request waits).
    #[wasm_bindgen(js_namespace = globalThis, js_name = curserveInterrupted)]
    fn host_interrupted() -> u32;
}

/// Asks the host whether the running search should stop.
fn ask_host() -> HostWord {
    match host_interrupted() {
        0 => HostWord::GoOn,
        2 => HostWord::Stop(Stop::TimedOut),
        3 => HostWord::Yield,
        _ => HostWord::Stop(Stop::Cancelled),
    }
}

/// The WebAssembly memory, so the host can copy file bytes straight in.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Files held in linear memory, searched many times.
#[wasm_bindgen(js_name = CoreCorpus)]
pub struct CoreCorpus {
    corpus: Corpus,
    /// A saved sketch file read straight into linear memory (see
    /// [`CoreCorpus::stage_sketch_file`]).
    staged: Vec<u8>,
}

/// The result of one search.
#[wasm_bindgen(js_name = CoreGrepResult)]
pub struct CoreGrepResult {
    output: Vec<u8>,
    matched: bool,
    searched: u64,
    resume_at: Option<usize>,
}

#[wasm_bindgen(js_class = CoreGrepResult)]
impl CoreGrepResult {
    /// rg's output bytes (moved out; a second call returns nothing).
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    #[wasm_bindgen(getter)]
    pub fn matched(&self) -> bool {
        self.matched
    }

    /// How many files passed the filters and were searched.
    #[wasm_bindgen(getter)]
    pub fn searched(&self) -> f64 {
        self.searched as f64
    }

    /// Set when the search paused (the host asked it to yield): the
    /// `resume_at` that searches the rest.
    #[wasm_bindgen(getter, js_name = resumeAt)]
    pub fn resume_at(&self) -> Option<f64> {
        self.resume_at.map(|n| n as f64)
    }
}

#[wasm_bindgen(js_class = CoreCorpus)]
impl CoreCorpus {
    #[wasm_bindgen(constructor)]
    pub fn new() -> CoreCorpus {
        CoreCorpus { corpus: Corpus::new(), staged: Vec::new() }
    }

    /// Reserves `len` bytes for the file at absolute `path` and returns
    /// their address; the host writes the contents there before any other
    /// call into this module.
    /// `walked`: found by walking a directory, rather than named directly.
    #[wasm_bindgen(js_name = allocFile)]
    pub fn alloc_file(&mut self, path: &str, len: usize, walked: bool) -> *mut u8 {
        self.corpus.insert(path, len, walked).as_mut_ptr()
    }

    /// Shortens a file just allocated, when it was shorter than announced
    /// (it changed while being read).
    #[wasm_bindgen(js_name = truncateFile)]
    pub fn truncate_file(&mut self, path: &str, len: usize) {
        self.corpus.truncate(path, len);
    }

    /// Marks a file just allocated as written, `len` bytes of it (fewer
    /// than announced when it shrank while being read): it then shares one
    /// copy with identical files of any corpus in this instance.
    #[wasm_bindgen(js_name = sealFile)]
    pub fn seal_file(&mut self, path: &str, len: usize) {
        self.corpus.seal(path, len);
    }

    #[wasm_bindgen(js_name = removeFile)]
    pub fn remove_file(&mut self, path: &str) -> bool {
        self.corpus.remove(path)
    }

    /// Forgets every file inside directory `dir`; returns how many.
    #[wasm_bindgen(js_name = removeUnder)]
    pub fn remove_under(&mut self, dir: &str) -> u32 {
        self.corpus.remove_under(dir) as u32
    }

    /// A copy of a held file's bytes.
    #[wasm_bindgen(js_name = readFile)]
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        self.corpus.get(path).map(|f| f.data.to_vec())
    }

    #[wasm_bindgen(js_name = hasFile)]
    pub fn has_file(&self, path: &str) -> bool {
        self.corpus.get(path).is_some()
    }

    /// Builds n-gram sketches (which let searches skip files that cannot
    /// match) for about `budget` bytes of files, stopping sooner when the
    /// host's interrupt check says anything but go on (a request waits);
    /// returns how many files still lack one.
    #[wasm_bindgen(js_name = buildSketches)]
    pub fn build_sketches(&mut self, budget: f64) -> u32 {
        let mut go_on = || matches!(ask_host(), HostWord::GoOn);
        self.corpus.build_sketches_until(budget as usize, &mut go_on) as u32
    }

    /// Where a part of the saved sketches from file `from` ends to hold
    /// about `budget` bytes of files (at least one file).
    #[wasm_bindgen(js_name = sketchPartEnd)]
    pub fn sketch_part_end(&self, from: usize, budget: usize) -> usize {
        self.corpus.sketch_part_end(from, budget)
    }

    /// The sketches built so far of files `from..from + count` (of
    /// `fileCount`), saved with each file's length and content hash: a
    /// part of what [`CoreCorpus::import_sketches`] reads after a restart.
    /// The first part (`from` 0) has the file's head and the one that
    /// reaches the last file its end; parts asked for in turn make a whole.
    #[wasm_bindgen(js_name = exportSketches)]
    pub fn export_sketches(&self, from: usize, count: usize) -> Vec<u8> {
        self.corpus.export_sketches(from, count)
    }

    /// Restores saved sketches onto files whose bytes are unchanged;
    /// returns `[restored, changed, other]` counts.
    /// Throws when the saved bytes are refused (truncated, corrupt, another
    /// build's), saying why.
    #[wasm_bindgen(js_name = importSketches)]
    pub fn import_sketches(&mut self, saved: &[u8]) -> Result<Vec<u32>, JsError> {
        let r = self.corpus.import_sketches(saved).map_err(|e| JsError::new(&e))?;
        Ok(vec![r.restored as u32, r.changed as u32, r.other as u32])
    }

    /// Reserves `len` bytes for a saved sketch file and returns their
    /// address; the host reads the file there (a copy in JavaScript memory
    /// first, of tens of MB, was most of a restore), then calls
    /// [`CoreCorpus::import_staged`].
    #[wasm_bindgen(js_name = stageSketchFile)]
    pub fn stage_sketch_file(&mut self, len: usize) -> *mut u8 {
        self.staged = vec![0; len];
        self.staged.as_mut_ptr()
    }

    /// [`CoreCorpus::import_sketches`] of the first `len` bytes staged,
    /// which are freed.
    #[wasm_bindgen(js_name = importStaged)]
    pub fn import_staged(&mut self, len: usize) -> Result<Vec<u32>, JsError> {
        let staged = std::mem::take(&mut self.staged);
        self.import_sketches(&staged[..len.min(staged.len())])
    }

    #[wasm_bindgen(getter, js_name = sketchBytes)]
    pub fn sketch_bytes(&self) -> f64 {
        self.corpus.sketch_bytes() as f64
    }

    #[wasm_bindgen(getter, js_name = fileCount)]
    pub fn file_count(&self) -> usize {
        self.corpus.len()
    }

    #[wasm_bindgen(getter, js_name = byteCount)]
    pub fn byte_count(&self) -> f64 {
        self.corpus.bytes() as f64
    }

    /// Puts files added since in walk order and indexes them (every search
    /// does it first when needed): a load ends with it, so that the first
    /// search after an open does not pay for it.
    pub fn prepare(&mut self) {
        self.corpus.prepare();
    }

    /// Runs one search described by a JSON request (see `mod.ts`).
    pub fn grep(&mut self, request: &str) -> Result<CoreGrepResult, JsError> {
        let req = parse_request(request).map_err(|e| JsError::new(&e))?;
        let matcher = grep::compile(&req, &self.corpus).map_err(|e| JsError::new(&e))?;
        self.corpus.prepare();
        let interrupt = Interrupt::new(&ask_host);
        let r = grep::grep(&self.corpus, &req, &matcher, &interrupt)
            .map_err(|why| JsError::new(&why.message()))?;
        Ok(CoreGrepResult {
            output: r.output,
            matched: r.matched,
            searched: r.files_searched,
            resume_at: r.resume_at,
        })
    }

    /// rg `--files`: the paths a search would look at, one per line.
    #[wasm_bindgen(js_name = listFiles)]
    pub fn list_files(&mut self, request: &str) -> Result<Vec<u8>, JsError> {
        let v: Value = serde_json::from_str(request).map_err(|e| JsError::new(&e.to_string()))?;
        let roots = parse_roots(&v).map_err(|e| JsError::new(&e))?;
        let selector = parse_selector(&v).map_err(|e| JsError::new(&e))?;
        let style = parse_style(&v).map_err(|e| JsError::new(&e))?;
        self.corpus.prepare();
        Ok(grep::list_files(&self.corpus, &roots, &selector, &style))
    }
}

impl Default for CoreCorpus {
    fn default() -> Self {
        CoreCorpus::new()
    }
}

/// Ignore rules for one walk; the host reads directories and asks which
/// entries to keep.
#[wasm_bindgen(js_name = CoreWalkRules)]
pub struct CoreWalkRules {
    tree: IgnoreTree,
}

#[wasm_bindgen(js_class = CoreWalkRules)]
impl CoreWalkRules {
    /// `options`: JSON with `hidden`, `no_ignore`, `cwd`, `globs`, `iglobs`,
    /// `types`, `types_not`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> Result<CoreWalkRules, JsError> {
        let v: Value = serde_json::from_str(options).map_err(|e| JsError::new(&e.to_string()))?;
        let selector = parse_selector(&v).map_err(|e| JsError::new(&e))?;
        let tree = IgnoreTree::new(flag(&v, "hidden"), flag(&v, "no_ignore"), selector);
        Ok(CoreWalkRules { tree })
    }

    /// Adds a directory's ignore files; `parent` is -1 for the outermost.
    #[wasm_bindgen(js_name = addDir)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_dir(
        &mut self,
        parent: i32,
        dir: &str,
        rgignore: &str,
        ignore: &str,
        gitignore: &str,
        exclude: &str,
        has_git: bool,
    ) -> u32 {
        let files = DirIgnoreFiles { rgignore, ignore, gitignore, exclude, has_git };
        let parent = usize::try_from(parent).ok();
        self.tree.add_dir(parent, dir, &files) as u32
    }

    /// For entries of directory `level` (names joined by NUL, `kinds` 1 for
    /// a directory, 0 for a file), returns 1 for each entry to keep, 0 for
    /// one a glob, ignore rule or type excludes, 2 for one skipped only for
    /// its hidden name.
    #[wasm_bindgen(js_name = keepEntries)]
    pub fn keep_entries(
        &self,
        level: u32,
        dir_abs: &str,
        dir_shown: &str,
        names: &str,
        kinds: &[u8],
    ) -> Vec<u8> {
        names
            .split('\0')
            .zip(kinds)
            .map(|(name, &kind)| {
                let abs = display_join(dir_abs, name);
                let shown = display_join(dir_shown, name);
                match self.tree.verdict(level as usize, &abs, &shown, name, kind == 1) {
                    Verdict::Keep => 1,
                    Verdict::SkipByRule => 0,
                    Verdict::SkipHidden => 2,
                }
            })
            .collect()
    }
}

/// Which of the given entries, skipped by a walk without them, a request's
/// globs or types (`-g`, `--iglob`, `-t`) make rg search: 1 for each. The
/// entries lie below one search root printed as `root_display`; paths as rg
/// prints them, joined by NUL; `kinds` per entry, bit 0 a directory, bit 1
/// skipped only for its hidden name. An entry below a directory a glob
/// excludes stays out, as rg never walks there.
#[wasm_bindgen(js_name = globsRescue)]
pub fn globs_rescue(
    request: &str,
    root_display: &str,
    shown: &str,
    kinds: &[u8],
) -> Result<Vec<u8>, JsError> {
    let v: Value = serde_json::from_str(request).map_err(|e| JsError::new(&e.to_string()))?;
    let selector = parse_selector(&v).map_err(|e| JsError::new(&e))?;
    if selector.is_empty() || kinds.is_empty() {
        return Ok(vec![0; kinds.len()]);
    }
    // Where the part below the root starts in a printed path.
    let below = match root_display {
        "" => 0,
        d if d.ends_with('/') => d.len(),
        d => d.len() + 1,
    };
    let rescued = |path: &str, kind: u8| {
        let rel = path.get(below..).unwrap_or("");
        let dir_excluded = rel.match_indices('/').any(|(i, _)| selector.excludes_dir(&path[..below + i]));
        !dir_excluded && selector.rescues(path, kind & 1 != 0, kind & 2 != 0)
    };
    Ok(shown.split('\0').zip(kinds).map(|(path, &kind)| u8::from(rescued(path, kind))).collect())
}

/// What this instance's store of file contents holds, each distinct
/// contents once however many files hold it: `[blobs, bytes, sketch_bytes]`.
#[wasm_bindgen(js_name = storeStats)]
pub fn store_stats() -> Vec<f64> {
    let s = crate::blobs::store_stats();
    vec![s.blobs as f64, s.bytes as f64, s.sketch_bytes as f64]
}

/// `bytes` as a JSON string literal (quotes included, escaped as
/// `JSON.stringify` escapes), or nothing when they are not UTF-8. Daemon
/// workers escape their share of an answer here, in parallel: 1.25 ms for
/// 1 MB, where decoding, stringifying and encoding it in JavaScript on the
/// socket thread took 5.2 ms.
#[wasm_bindgen(js_name = jsonString)]
pub fn json_string(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::json_text::json_string(bytes)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| format!("{key} must hold strings")))
            .collect(),
        Some(_) => Err(format!("{key} must be an array of strings")),
    }
}

fn count(v: &Value, key: &str) -> Result<Option<u64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(Some).ok_or_else(|| format!("{key} must be a non-negative integer")),
    }
}

/// A byte count that fits this machine's sizes (larger ones are as good as
/// no limit on wasm32, where memory ends at 4 GiB).
fn size(v: &Value, key: &str) -> Result<Option<usize>, String> {
    Ok(count(v, key)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

fn parse_selector(v: &Value) -> Result<Rc<Selector>, String> {
    let cwd = v.get("cwd").and_then(Value::as_str).unwrap_or("/");
    Selector::cached_with_ignore_files(
        cwd,
        &strings(v, "globs")?,
        &strings(v, "iglobs")?,
        &strings(v, "types")?,
        &strings(v, "types_not")?,
        &strings(v, "ignore_files")?,
        &type_edits(v)?,
    )
}

fn type_edits(v: &Value) -> Result<TypeEdits, String> {
    Ok(TypeEdits { add: strings(v, "type_add")?, clear: strings(v, "type_clear")? })
}

/// rg `--type-list` for a request's `type_add` and `type_clear`.
#[wasm_bindgen(js_name = typeList)]
pub fn type_list(request: &str) -> Result<String, JsError> {
    let v: Value = serde_json::from_str(request).map_err(|e| JsError::new(&e.to_string()))?;
    let edits = type_edits(&v).map_err(|e| JsError::new(&e))?;
    crate::filter::type_list(&edits).map_err(|e| JsError::new(&e))
}

fn parse_roots(v: &Value) -> Result<Vec<Root>, String> {
    let Some(Value::Array(items)) = v.get("roots") else {
        return Err("roots must be an array".to_string());
    };
    items
        .iter()
        .map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            Ok(Root {
                path: s("path").ok_or("each root needs a path")?,
                display: s("display").unwrap_or_default(),
                is_file: flag(r, "is_file"),
            })
        })
        .collect()
}

fn parse_request(text: &str) -> Result<GrepRequest, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("malformed request: {e}"))?;
    let case = match v.get("case").and_then(Value::as_str).unwrap_or("sensitive") {
        "sensitive" => CaseMode::Sensitive,
        "insensitive" => CaseMode::Insensitive,
        "smart" => CaseMode::Smart,
        other => return Err(format!("unknown case mode: {other}")),
    };
    let pattern = PatternOptions {
        patterns: strings(&v, "patterns")?,
        fixed_strings: flag(&v, "fixed_strings"),
        case,
        word: flag(&v, "word"),
        line_regexp: flag(&v, "line_regexp"),
        multiline: flag(&v, "multiline"),
        size_limit: size(&v, "regex_size_limit")?.unwrap_or(DEFAULT_SIZE_LIMIT),
        dfa_size_limit: size(&v, "dfa_size_limit")?.unwrap_or(DEFAULT_DFA_SIZE_LIMIT),
    };
    let search = SearchConfig {
        invert: flag(&v, "invert"),
        before: count(&v, "before")?.unwrap_or(0) as usize,
        after: count(&v, "after")?.unwrap_or(0) as usize,
        max_count: count(&v, "max_count")?,
        line_numbers: false,
    };
    let out = v.get("output").cloned().unwrap_or(Value::Null);
    let output = match out.get("kind").and_then(Value::as_str).unwrap_or("standard") {
        "standard" => OutputKind::Standard {
            line_number: flag(&out, "line_number"),
            only_matching: flag(&out, "only_matching"),
        },
        "count" => OutputKind::Count { matches: flag(&out, "matches") },
        "files_with_matches" => OutputKind::FilesWithMatches,
        "files_without_match" => OutputKind::FilesWithoutMatch,
        "json" => OutputKind::Json { line_number: flag(&out, "line_number") },
        other => return Err(format!("unknown output kind: {other}")),
    };
    Ok(GrepRequest {
        pattern,
        search,
        output,
        with_filename: flag(&v, "with_filename"),
        printed_before: flag(&v, "printed_before"),
        max_output: count(&v, "max_output")?.map(|n| n as usize),
        resume_at: count(&v, "resume_at")?.unwrap_or(0) as usize,
        roots: parse_roots(&v)?,
        selector: parse_selector(&v)?,
        style: parse_style(&v)?,
    })
}

/// The optional `style` object: rg's separators and line fields.
fn parse_style(v: &Value) -> Result<LineStyle, String> {
    let mut style = LineStyle::default();
    let Some(s) = v.get("style") else { return Ok(style) };
    let bytes = |key: &str| -> Result<Option<Vec<u8>>, String> {
        match s.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|b| {
                    b.as_u64().filter(|&b| b < 256).map(|b| b as u8).ok_or(format!("{key} must hold bytes"))
                })
                .collect::<Result<Vec<u8>, String>>()
                .map(Some),
            Some(_) => Err(format!("{key} must be an array of bytes")),
        }
    };
    if let Some(b) = bytes("field_match")? {
        style.field_match = b;
    }
    if let Some(b) = bytes("field_context")? {
        style.field_context = b;
    }
    if let Some(b) = bytes("context_separator")? {
        style.context_separator = Some(b);
    }
    if flag(s, "no_context_separator") {
        style.context_separator = None;
    }
    style.null = flag(s, "null");
    style.column = flag(s, "column");
    style.byte_offset = flag(s, "byte_offset");
    style.trim = flag(s, "trim");
    style.include_zero = flag(s, "include_zero");
    style.heading = flag(s, "heading");
    style.per_match = flag(s, "per_match");
    style.max_columns = count(s, "max_columns")?.filter(|&n| n > 0).map(|n| n as usize);
    style.text = flag(s, "text");
    style.path_separator = bytes("path_separator")?.and_then(|b| b.first().copied());
    Ok(style)
}
