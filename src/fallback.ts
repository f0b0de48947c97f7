/**
 * Exact fallback: what the core cannot answer (`--pcre2`, `--pre`, `-z`,
 * `-E`) runs the real ripgrep with the same command line, working directory
 * and standard input, and its bytes and exit status are passed through.
 * @module
 */
import { delimiter, join } from "node:path";
import type { CommandIO } from "./output.ts";

/** A line every curserve `rg` shim carries, so the fallback never runs one
 * (it would call itself). */
export const SHIM_MARKER = "curserve-rg-shim";

/** Set by the native shim (shim/native) on the rg or Deno shim it runs:
 * the `dev:ino` of each shim passed through, comma-separated; none of
 * them is the real rg, whatever it carries. */
const SKIP_ENV = "CURSERVE_SHIM_SKIP";

/** Whether the file at `path` is a curserve shim: the marker in its first
 * 512 bytes (the Deno shim's script) or its last 512 (the native shim,
 * which install_shim.sh ends with a marker line). */
function isShim(path: string, size: number): boolean {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path);
    const marked = (at: number) => {
      const buf = new Uint8Array(512);
      file!.seekSync(at, Deno.SeekMode.Start);
      let n = 0;
      while (n < buf.length) {
        const k = file!.readSync(buf.subarray(n));
        if (!k) break;
        n += k;
      }
      return new TextDecoder().decode(buf.subarray(0, n)).includes(SHIM_MARKER);
    };
    return marked(0) || (size > 512 && marked(size - 512));
  } catch {
    return false;
  } finally {
    file?.close();
  }
}

/** Only the real rg answers this command, and `io.noProcess` forbids
 * running it here; `why` says what needs it. */
export class NeedsRealRg extends Error {
  constructor(readonly why: string) {
    super(`${why} needs the real ripgrep`);
  }
}

/**
 * The real rg: `$CURSERVE_REAL_RG` when set, else the first executable `rg`
 * on `$PATH` that is not a curserve shim (marked, or in
 * `$CURSERVE_SHIM_SKIP`).
 * @returns Its path, or undefined when there is none.
 */
export function findRealRg(
  env: { get(key: string): string | undefined } = Deno.env,
): string | undefined {
  const explicit = env.get("CURSERVE_REAL_RG");
  if (explicit) return explicit;
  const passed = new Set((env.get(SKIP_ENV) ?? "").split(",").filter(Boolean));
  for (const dir of (env.get("PATH") ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "rg");
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(candidate);
      if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) continue;
    } catch {
      continue;
    }
    if (passed.has(`${info.dev}:${info.ino}`)) continue;
    if (!isShim(candidate, info.size)) return candidate;
  }
  return undefined;
}

/**
 * Runs the real rg with `argv` from `io.cwd`. With `io.inherit` it shares
 * this process's standard streams (stdin included, so piped input reaches
 * it); otherwise its output is captured into `io` and its stdin is empty.
 * @param why The flag that needs it, for the error when there is no rg.
 * @returns rg's exit status, or 2 (with a message) when no rg is found.
 */
export function runRealRg(argv: string[], io: CommandIO, why: string): number {
  if (io.noProcess) throw new NeedsRealRg(why);
  const rg = findRealRg();
  if (!rg) {
    io.stderr(
      `error: ${why} needs the real ripgrep, and no rg (other than curserve's shim) ` +
        "was found on PATH; install ripgrep or set CURSERVE_REAL_RG to its path\n",
    );
    return 2;
  }
  // The command line is whole already (a config file's arguments in
  // front, see withConfigArgs): rg must not add them again.
  argv = ["--no-config", ...argv];
  try {
    if (io.inherit) {
      const status = new Deno.Command(rg, {
        args: argv,
        cwd: io.cwd,
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).outputSync();
      return status.code;
    }
    const out = new Deno.Command(rg, {
      args: argv,
      cwd: io.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    io.stdout(out.stdout);
    if (out.stderr.length) io.stderr(new TextDecoder().decode(out.stderr));
    return out.code;
  } catch (err) {
    io.stderr(`error: could not run ${rg} for ${why}: ${(err as Error).message}\n`);
    return 2;
  }
}
