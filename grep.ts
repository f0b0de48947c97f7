/**
 * `deno task grep [OPTIONS] PATTERN [PATH...]`: prints what
 * `rg --sort path` prints into a pipe (at a terminal too: no colors or
 * headings unless asked for), searching files loaded into WebAssembly
 * memory — in this process, or in a running daemon with `--daemon SOCKET`.
 * @module
 */
import { parseArgs, withConfigArgs } from "./src/args.ts";
import { DaemonClient } from "./src/client.ts";
import type { CommandIO } from "./src/output.ts";

const encoder = new TextEncoder();

/** Writes all of `bytes` to stdout (writeSync may write only part). */
function writeStdout(bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += Deno.stdout.writeSync(bytes.subarray(done));
}

function writeStderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Splits `--daemon SOCKET` (or `--daemon=SOCKET`) out of the arguments. */
function takeDaemon(argv: string[]): { socket?: string; rest: string[] } {
  const rest: string[] = [];
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (argv[i] === "--daemon" && i + 1 < argv.length) socket = argv[++i];
    else if (argv[i].startsWith("--daemon=")) socket = argv[i].slice("--daemon=".length);
    else rest.push(argv[i]);
  }
  return { socket, rest };
}

/** What `grep_cli` answers (docs/PROTOCOL.md): the command's output, or
 * that only the real rg can answer it, and why. */
type GrepCliResult =
  | { stdout: string; stdout_base64?: string; stderr: string; code: number; fallback?: never }
  | { fallback: string };

/**
 * Runs the command in the daemon at `socket` (its `grep_cli` method, which
 * takes the caller's cwd and argv as they are), printing its answer. When
 * the daemon answers that only the real rg can run it (`{fallback}`: the
 * daemon starts no process for anyone), runs the real rg here with the same
 * argv, cwd and standard streams (src/fallback.ts).
 * @param quiet On no daemon, or a daemon refusing the request, return
 * undefined and print nothing (the caller then runs the command itself).
 * @returns The exit status, or undefined (see `quiet`).
 */
export async function viaDaemon(
  socket: string,
  cwd: string,
  argv: string[],
  quiet = false,
): Promise<number | undefined> {
  let client: DaemonClient;
  try {
    client = await DaemonClient.connect(socket);
  } catch (err) {
    if (quiet) return undefined;
    writeStderr(`error: no curserve daemon answers at ${socket}: ${(err as Error).message}\n`);
    return 2;
  }
  let r: GrepCliResult;
  try {
    r = await client.request<GrepCliResult>("grep_cli", { cwd, argv });
  } catch (err) {
    if (quiet) return undefined;
    writeStderr(`error: ${(err as Error).message}\n`);
    return 2;
  } finally {
    client.close();
  }
  if (typeof r.fallback === "string") {
    const { runRealRg } = await import("./src/fallback.ts");
    return runRealRg(argv, processIO(cwd), r.fallback);
  }
  try {
    writeStdout(
      r.stdout_base64 !== undefined
        ? Uint8Array.from(atob(r.stdout_base64), (c) => c.charCodeAt(0))
        : encoder.encode(r.stdout),
    );
    if (r.stderr) writeStderr(r.stderr);
    return r.code;
  } catch (err) {
    if (quiet) return undefined;
    writeStderr(`error: ${(err as Error).message}\n`);
    return 2;
  }
}

/** This process's standard streams as the command's. */
export function processIO(cwd: string): CommandIO {
  return { cwd, stdout: writeStdout, stderr: writeStderr, inherit: true };
}

/**
 * Whether rg would read standard input for this command line: `-` among
 * the paths, or no path (and no `--files`) with stdin a file, pipe or
 * socket (rg 13's test; a terminal or /dev/null does not count).
 */
export async function readsStdin(argv: string[]): Promise<boolean> {
  let args;
  try {
    args = parseArgs(argv);
  } catch {
    return false;
  }
  if (args.paths.includes("-")) return true;
  if (args.paths.length > 0 || args.files || args.version || args.help) return false;
  try {
    // By descriptor: Deno asks for --allow-all to stat /dev/stdin. Loaded
    // only here: Node's modules add ~40 ms to a process's start.
    const { fstatSync } = await import("node:fs");
    const info = fstatSync(0);
    return info.isFile() || info.isFIFO() || info.isSocket();
  } catch {
    return false;
  }
}

/**
 * The error for a command line with an argument that is not UTF-8 (a file
 * name in Latin-1, say): Deno hands such an argument over with U+FFFD in
 * place of its bytes, and can pass it neither to the daemon nor to rg as
 * it was, so the command says so instead of answering for another name.
 * The native shim (shim/native) passes such a command to rg unchanged.
 * The raw arguments are in /proc/self/cmdline, which Deno lets only
 * `--allow-all` read; without it, a PATH with U+FFFD that names nothing
 * is taken to be one (rg would fail on a missing path too).
 * @returns The message, or undefined when every argument is what was typed.
 */
export function notUtf8Argument(argv: string[]): string | undefined {
  if (!argv.some((a) => a.includes("\uFFFD"))) return undefined;
  const error = (what: string) =>
    `error: ${what} not valid UTF-8, which this Deno command cannot pass on as it is; ` +
    "run the real rg, or the native rg shim (deno task install)";
  let raw: Uint8Array;
  try {
    raw = Deno.readFileSync("/proc/self/cmdline");
  } catch {
    let paths: string[];
    try {
      paths = parseArgs(argv).paths;
    } catch {
      return undefined; // a usage error, reported as such
    }
    const missing = paths.find((p) => {
      if (!p.includes("\uFFFD")) return false;
      try {
        Deno.lstatSync(p);
        return false;
      } catch {
        return true;
      }
    });
    return missing === undefined ? undefined : error(`${missing}: no such path, or its name is`);
  }
  const strict = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    try {
      strict.decode(raw.subarray(start, i));
    } catch {
      return error("an argument is");
    }
    start = i + 1;
  }
  return undefined;
}

/** Runs the command in this process (imported only when needed: loading
 * the WebAssembly core is most of a process's start-up). */
export async function runHere(argv: string[], cwd: string): Promise<number> {
  const io = processIO(cwd);
  if (await readsStdin(argv)) {
    const { runRealRg } = await import("./src/fallback.ts");
    return runRealRg(argv, io, "standard input");
  }
  const { runGrep } = await import("./src/cli.ts");
  return runGrep(argv, io);
}

if (import.meta.main) {
  // `deno task` runs in the config's directory; INIT_CWD is where the user was.
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  const config = withConfigArgs(Deno.args, Deno.env.get("RIPGREP_CONFIG_PATH"));
  if (config.error) writeStderr(config.error + "\n");
  const { socket, rest } = takeDaemon(config.argv);
  const notUtf8 = notUtf8Argument(rest);
  if (notUtf8) {
    writeStderr(notUtf8 + "\n");
    Deno.exit(2);
  }
  // Standard input the daemon cannot see: searched here, by the real rg
  // (runHere), as the shim does.
  const code = socket !== undefined && !(await readsStdin(rest))
    ? await viaDaemon(socket, cwd, rest)
    : await runHere(rest, cwd);
  Deno.exit(code ?? 2);
}
