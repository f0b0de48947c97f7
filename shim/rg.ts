/**
 * The `rg` shim (`deno task install` puts it first on PATH as
 * `~/.local/bin/rg`): agents that spawn `rg` get their answer from a
 * running curserve daemon when one answers on `$CURSERVE_SOCKET` (default
 * the user's own daemon, else /run/curserve/curserve.sock), sent there as the caller's cwd and argv (the
 * daemon's `grep_cli`); otherwise, or when the daemon refuses, the real rg
 * further down PATH runs it, or with none, this process does, exactly as
 * `deno task grep`. Commands only the real rg answers (`--pcre2`, `-z`,
 * standard input, ...) go straight to the real rg, as do those the daemon
 * answers `{fallback}` for (see `viaDaemon`). The native shim (shim/native)
 * does the same without a Deno start, and runs this script when there is
 * no rg.
 * @module
 */
import { parseArgs, versionText, withConfigArgs } from "../src/args.ts";
import { notUtf8Argument, processIO, readsStdin, runHere, viaDaemon } from "../grep.ts";
import { clientSocketPath } from "../src/socket_path.ts";

async function main(argv: string[]): Promise<number> {
  const cwd = Deno.cwd();
  const notUtf8 = notUtf8Argument(argv);
  if (notUtf8) {
    processIO(cwd).stderr(notUtf8 + "\n");
    return 2;
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch {
    args = undefined; // a usage error: printed by whoever runs it
  }
  if (args?.version) {
    // Agents ask this before every session: no daemon, no core needed.
    processIO(cwd).stdout(new TextEncoder().encode(versionText(args.shortVersion)));
    return 0;
  }
  // Run by a shim that asked the daemon already (the native shim, with no
  // rg to run, runs this one: see src/fallback.ts's CURSERVE_SHIM_SKIP).
  const passed = !!Deno.env.get("CURSERVE_SHIM_SKIP");
  // At a terminal rg colors, numbers lines and groups them under headings:
  // a person is reading, and the real rg answers (the daemon prints as
  // into a pipe, which is what agents read).
  const terminal = Deno.stdout.isTerminal();
  if (
    args && !passed && !terminal && !args.fallback && !args.help && !(await readsStdin(argv))
  ) {
    const socket = clientSocketPath(); // $CURSERVE_SOCKET, the user's daemon, the system's
    const code = await viaDaemon(socket, cwd, argv, true);
    if (code !== undefined) return code;
  }
  // No daemon: the real rg is faster than loading the tree into this
  // process for one search (bench/shim.ts), and is rg by definition.
  const { findRealRg, runRealRg } = await import("../src/fallback.ts");
  if (findRealRg()) return runRealRg(argv, processIO(cwd), args?.fallback ?? "the command");
  return await runHere(argv, cwd);
}

if (import.meta.main) {
  const config = withConfigArgs(Deno.args, Deno.env.get("RIPGREP_CONFIG_PATH"));
  if (config.error) Deno.stderr.writeSync(new TextEncoder().encode(config.error + "\n"));
  Deno.exit(await main(config.argv));
}
