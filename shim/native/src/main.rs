//! curserve's `rg` shim as a native program: what shim/rg.ts does, without
//! a Deno start (35-50 ms, more than rg needs on a small tree).
//!
//! - `--version`/`-V`: answered here, the Deno shim's text.
//! - Otherwise, unless rg would read standard input or the command line
//!   needs the real rg (src/args.ts's `fallback`, `--help`, a usage error or
//!   an rg flag curserve lacks): one `grep_cli` request (cwd, argv) to the
//!   daemon found as src/socket_path.ts's `clientSocketPath` finds it, and
//!   its answer's stdout bytes, stderr and exit status.
//! - When that answers `{fallback}`, or no daemon answers: exec of the real
//!   rg further down PATH (src/fallback.ts's `findRealRg`), with the same
//!   argv, cwd and stdin; with none, exec of the Deno shim.
//!
//! `RIPGREP_CONFIG_PATH` is read here (src/args.ts's `withConfigArgs`): the
//! daemon sees none of the caller's environment.
mod args;

use std::env;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::mem::ManuallyDrop;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::io::FromRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

use base64::Engine as _;
use serde_json::Value;

/// The line every curserve shim carries (src/fallback.ts's `SHIM_MARKER`):
/// `install_shim.sh --remove` greps for it. The installer also appends it
/// at the binary's end, where src/fallback.ts and `is_shim` look for it.
#[used]
static MARKER: [u8; 57] = *b"curserve-rg-shim: curserve's native rg shim (shim/native)";
const SHIM_MARKER: &[u8] = b"curserve-rg-shim";

/// Set on the real rg (or Deno shim) this shim execs: `dev:ino` of each
/// shim passed through and of the rg it runs, comma-separated. A shim
/// started with it set goes straight to the real rg, skipping those files:
/// were a later `rg` on PATH a wrapper that calls `rg` again, it would
/// otherwise loop forever. (So rg's own children, `--pre` commands, see
/// that rg listed too.)
const SKIP_ENV: &str = "CURSERVE_SHIM_SKIP";

const SYSTEM_SOCKET: &str = "/run/curserve/curserve.sock";

/// The Deno shim's permissions (scripts/install_shim.sh).
const DENO_FLAGS: &[&str] = &[
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-net",
    "--allow-run",
    "--allow-sys",
];

extern "C" {
    fn getuid() -> u32;
}

fn env_nonempty(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|v| !v.is_empty())
}

/// src/args.ts's `versionText`.
fn version_text(short: bool) -> String {
    let first = format!("ripgrep 13.0.0 (curserve {})\n", env!("CURSERVE_VERSION"));
    if short {
        first
    } else {
        first + "curserve: ripgrep 13's output, searched from files held in WebAssembly memory\n"
    }
}

/// src/args.ts's `withConfigArgs`: the config file's arguments (one a
/// line, blank lines and `#` comments skipped) in front of argv, unless
/// argv has `--no-config`; with the message when the file cannot be read.
fn with_config_args(argv: Vec<OsString>) -> (Vec<OsString>, Option<String>) {
    let Some(path) = env_nonempty("RIPGREP_CONFIG_PATH") else {
        return (argv, None);
    };
    if argv.iter().any(|a| a == "--no-config") {
        return (argv, None);
    }
    match fs::read(&path) {
        Err(e) => {
            let p = path.to_string_lossy();
            // rg's message: the path and the OS error.
            (argv, Some(format!("{p}: {e}")))
        }
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let mut all: Vec<OsString> = text
                .split('\n')
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(OsString::from)
                .collect();
            all.extend(argv);
            (all, None)
        }
    }
}

/// src/socket_path.ts's `clientSocketPath`: `$CURSERVE_SOCKET`, else the
/// user's own daemon's socket if it exists, else the system daemon's.
fn client_socket_path() -> PathBuf {
    if let Some(explicit) = env_nonempty("CURSERVE_SOCKET") {
        return explicit.into();
    }
    // SAFETY: getuid cannot fail and touches no memory of ours.
    let uid = unsafe { getuid() };
    if uid != 0 {
        let own = match env_nonempty("XDG_RUNTIME_DIR") {
            Some(dir) => Path::new(&dir).join("curserve.sock"),
            None => PathBuf::from(format!("/tmp/curserve-{uid}/curserve.sock")),
        };
        if fs::symlink_metadata(&own).is_ok() {
            return own;
        }
    }
    PathBuf::from(SYSTEM_SOCKET)
}

/// grep.ts's `readsStdin`: `-` among the paths, or no path (and no
/// `--files`) with stdin a file, pipe or socket (a terminal or /dev/null
/// does not count).
fn reads_stdin(a: &args::Parsed) -> bool {
    if a.paths.iter().any(|p| p == "-") {
        return true;
    }
    if !a.paths.is_empty() || a.files || a.version || a.help {
        return false;
    }
    // SAFETY: fd 0 is borrowed for one fstat and never closed here.
    let stdin = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    match stdin.metadata() {
        Ok(m) => {
            let t = m.file_type();
            t.is_file() || t.is_fifo() || t.is_socket()
        }
        Err(_) => false,
    }
}

/// What `grep_cli` answered.
enum Answer {
    Output {
        stdout: Vec<u8>,
        stderr: String,
        code: i32,
    },
    Fallback(String),
}

/// One `grep_cli` request (grep.ts's `viaDaemon`); None when no daemon
/// answers it (none listening, an error answer, a closed connection).
fn via_daemon(socket: &Path, cwd: &str, argv: &[String]) -> Option<Answer> {
    let mut conn = UnixStream::connect(socket).ok()?;
    // As the Deno shim writes it (cwd first; serde_json's map would sort).
    let mut line = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"grep_cli","params":{{"cwd":{},"argv":{}}}}}"#,
        Value::from(cwd),
        Value::from(argv.to_vec()),
    )
    .into_bytes();
    line.push(b'\n');
    conn.write_all(&line).ok()?;
    let mut reader = BufReader::with_capacity(1 << 16, conn);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).ok()? == 0 {
            return None; // closed before answering
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let msg: Value = serde_json::from_slice(&buf).ok()?;
        if msg.get("id").and_then(Value::as_u64) != Some(1) {
            continue; // a notification (progress while a workspace loads)
        }
        let result = msg.get("result")?; // an error answer: no result
        if let Some(why) = result.get("fallback").and_then(Value::as_str) {
            return Some(Answer::Fallback(why.to_string()));
        }
        let stdout = match result.get("stdout_base64").and_then(Value::as_str) {
            Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).ok()?,
            None => result.get("stdout")?.as_str()?.as_bytes().to_vec(),
        };
        let stderr = result
            .get("stderr")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let code = i32::try_from(result.get("code")?.as_i64()?).ok()?;
        return Some(Answer::Output {
            stdout,
            stderr,
            code,
        });
    }
}

fn dev_ino(m: &fs::Metadata) -> String {
    format!("{}:{}", m.dev(), m.ino())
}

/// Whether the file at `path` is a curserve shim: the marker in its first
/// 512 bytes (the Deno shim's script) or its last 512 (this program, as
/// installed), as src/fallback.ts's `isShim` checks.
fn is_shim(path: &Path, len: u64) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let mut head = [0u8; 512];
    let n = read_full(&mut file, &mut head);
    if contains(&head[..n], SHIM_MARKER) {
        return true;
    }
    if len <= 512 {
        return false;
    }
    use std::io::{Seek, SeekFrom};
    if file.seek(SeekFrom::Start(len - 512)).is_err() {
        return false;
    }
    let n = read_full(&mut file, &mut head);
    contains(&head[..n], SHIM_MARKER)
}

fn read_full(file: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Shims already passed through: `$CURSERVE_SHIM_SKIP`'s and this one.
fn skipped() -> Vec<String> {
    let mut skip: Vec<String> = env::var("CURSERVE_SHIM_SKIP")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Ok(me) = fs::metadata("/proc/self/exe").or_else(|_| fs::metadata(env::current_exe()?)) {
        skip.push(dev_ino(&me));
    }
    skip
}

/// src/fallback.ts's `findRealRg`: `$CURSERVE_REAL_RG` when set, else the
/// first executable `rg` on PATH that is not a curserve shim; neither this
/// program (by device and inode, whatever its name) nor one already passed.
fn find_real_rg(skip: &[String]) -> Option<PathBuf> {
    let passed = |p: &Path| {
        fs::metadata(p)
            .map(|m| skip.contains(&dev_ino(&m)))
            .unwrap_or(false)
    };
    if let Some(explicit) = env_nonempty("CURSERVE_REAL_RG") {
        let explicit = PathBuf::from(explicit);
        if !passed(&explicit) {
            return Some(explicit);
        }
    }
    let path = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let candidate = dir.join("rg");
        let Ok(m) = fs::metadata(&candidate) else {
            continue;
        };
        if !m.is_file() || m.mode() & 0o111 == 0 || skip.contains(&dev_ino(&m)) {
            continue;
        }
        if !is_shim(&candidate, m.len()) {
            return Some(candidate);
        }
    }
    None
}

fn stderr_line(text: &str) {
    let _ = io::stderr().write_all(text.as_bytes());
}

/// src/fallback.ts's message when nothing can run the command.
fn no_rg(why: &str) -> ! {
    stderr_line(&format!(
        "error: {why} needs the real ripgrep, and no rg (other than curserve's shim) was found \
         on PATH; install ripgrep or set CURSERVE_REAL_RG to its path\n"
    ));
    exit(2)
}

/// Replaces this process with the real rg running `argv` (whole already:
/// `--no-config` keeps rg from adding the config file's arguments again),
/// as src/fallback.ts's `runRealRg` runs it. Returns only if there is none
/// or it cannot be started.
fn exec_real_rg(argv: &[OsString], skip: &[String], why: &str) {
    let Some(rg) = find_real_rg(skip) else { return };
    // Listed too: should it call `rg` again (a wrapper, not rg), the shim
    // it reaches passes over it.
    let mut passed = skip.to_vec();
    if let Ok(m) = fs::metadata(&rg) {
        passed.push(dev_ino(&m));
    }
    let err = Command::new(&rg)
        .arg("--no-config")
        .args(argv)
        .env(SKIP_ENV, passed.join(","))
        .exec();
    stderr_line(&format!(
        "error: could not run {} for {why}: {err}\n",
        rg.display()
    ));
    exit(2)
}

/// With no real rg: the Deno shim answers in its own process, as
/// shim/rg.ts does (`runHere`). argv has the config file's arguments
/// already, so it gets no `RIPGREP_CONFIG_PATH`.
fn exec_deno_shim(argv: &[OsString], skip: &[String]) -> ! {
    let deno: OsString = env_nonempty("CURSERVE_DENO")
        .or_else(|| option_env!("CURSERVE_BAKED_DENO").map(OsString::from))
        .unwrap_or_else(|| "deno".into());
    let script: OsString =
        env_nonempty("CURSERVE_SHIM_TS").unwrap_or_else(|| env!("CURSERVE_SHIM_TS").into());
    let err = Command::new(&deno)
        .args(DENO_FLAGS)
        .arg(&script)
        .args(argv)
        .env_remove("RIPGREP_CONFIG_PATH")
        .env(SKIP_ENV, skip.join(","))
        .exec();
    stderr_line(&format!(
        "error: no rg (other than curserve's shim) was found on PATH, and the Deno shim could not \
         be started ({} {}: {err}); install ripgrep or set CURSERVE_REAL_RG to its path\n",
        Path::new(&deno).display(),
        Path::new(&script).display(),
    ));
    exit(2)
}

/// Writes the daemon's answer and exits with its status. A closed stdout
/// (`rg ... | head`) ends quietly with 0, as rg does.
fn print_answer(stdout: &[u8], stderr: &str, code: i32) -> ! {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(stdout).and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            exit(0);
        }
        stderr_line(&format!("error: {e}\n"));
        exit(2);
    }
    if !stderr.is_empty() {
        stderr_line(stderr);
    }
    exit(code)
}

fn main() {
    let _ = &MARKER; // kept in the binary (#[used]): `--remove` greps for it
    let (argv, config_error) = with_config_args(env::args_os().skip(1).collect());
    if let Some(message) = config_error {
        stderr_line(&(message + "\n"));
    }
    let skip = skipped();
    if env_nonempty(SKIP_ENV).is_some() {
        // Started by a shim's fallback: that shim asked the daemon already.
        exec_real_rg(&argv, &skip, "the command");
        exec_deno_shim(&argv, &skip);
    }
    // JSON carries strings: a non-UTF-8 argument goes to rg as it is.
    let utf8: Option<Vec<String>> = argv.iter().map(|a| a.to_str().map(String::from)).collect();
    let parsed = utf8.as_deref().map(args::parse);
    if let Some(Ok(a)) = &parsed {
        if a.version {
            // Agents ask this before every session: no daemon needed.
            let _ = io::stdout().write_all(version_text(a.short_version).as_bytes());
            exit(0);
        }
    }
    let a = match (&utf8, parsed) {
        (Some(argv_utf8), Some(Ok(a))) => Some((argv_utf8, a)),
        _ => None, // a usage error (the real rg prints its own) or non-UTF-8
    };
    let stdin = a.as_ref().is_some_and(|(_, a)| reads_stdin(a));
    // At a terminal rg colors, numbers lines and groups them under headings:
    // a person is reading, and the real rg answers (the daemon prints as
    // into a pipe, which is what agents read).
    let terminal = io::stdout().is_terminal();
    if let (Some((argv_utf8, a)), false) = (&a, terminal) {
        let cwd = env::current_dir()
            .ok()
            .and_then(|d| d.to_str().map(String::from));
        if let (None, false, false, Some(cwd)) = (&a.fallback, a.help, stdin, cwd) {
            match via_daemon(&client_socket_path(), &cwd, argv_utf8) {
                Some(Answer::Output {
                    stdout,
                    stderr,
                    code,
                }) => print_answer(&stdout, &stderr, code),
                Some(Answer::Fallback(why)) => {
                    exec_real_rg(&argv, &skip, &why);
                    no_rg(&why);
                }
                None => {}
            }
        }
    }
    // No daemon: the real rg is faster than any in-process search, and is
    // rg by definition.
    let fallback = a.as_ref().and_then(|(_, a)| a.fallback.clone());
    exec_real_rg(&argv, &skip, fallback.as_deref().unwrap_or("the command"));
    // No rg either: what the Deno shim's runHere says, or lets it answer
    // (--help, a usage error, a search in its own process).
    if stdin {
        no_rg("standard input");
    }
    if let (Some(f), Some((_, a))) = (&fallback, &a) {
        if !a.help {
            no_rg(f);
        }
    }
    exec_deno_shim(&argv, &skip);
}
