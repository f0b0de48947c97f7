/**
 * `deno task grep [OPTIONS] PATTERN [PATH...]`: prints what
 * `rg --sort path` prints, searching files loaded into WebAssembly memory.
 * @module
 */
import { runGrep } from "./src/cli.ts";

/** Writes all of `bytes` to stdout (writeSync may write only part). */
function writeStdout(bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += Deno.stdout.writeSync(bytes.subarray(done));
}

if (import.meta.main) {
  // `deno task` runs in the config's directory; INIT_CWD is where the user was.
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  const code = runGrep(Deno.args, {
    cwd,
    stdout: writeStdout,
    stderr: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  });
  Deno.exit(code);
}
