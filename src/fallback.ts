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

/** Whether the file at `path` is a curserve shim (starts with the marker
 * in its first bytes). */
function isShim(path: string): boolean {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path);
    const head = new Uint8Array(512);
    const n = file.readSync(head) ?? 0;
    return new TextDecoder().decode(head.subarray(0, n)).includes(SHIM_MARKER);
  } catch {
    return false;
  } finally {
    file?.close();
  }
}

/**
 * The real rg: `$CURSERVE_REAL_RG` when set, else the first executable `rg`
 * on `$PATH` that is not a curserve shim.
 * @returns Its path, or undefined when there is none.
 */
export function findRealRg(
  env: { get(key: string): string | undefined } = Deno.env,
): string | undefined {
  const explicit = env.get("CURSERVE_REAL_RG");
  if (explicit) return explicit;
  for (const dir of (env.get("PATH") ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "rg");
    try {
      const info = Deno.statSync(candidate);
      if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) continue;
    } catch {
      continue;
    }
    if (!isShim(candidate)) return candidate;
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
