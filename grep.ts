/**
 * `deno task grep [OPTIONS] PATTERN [PATH...]`: prints what
 * `rg --sort path` prints, searching files loaded into WebAssembly memory —
 * in this process, or in a running daemon with `--daemon SOCKET`.
 * @module
 */
import { runGrep } from "./src/cli.ts";
import { DaemonClient } from "./src/client.ts";

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

/** Runs the command in the daemon at `socket`, printing its answer. */
async function viaDaemon(socket: string, cwd: string, argv: string[]): Promise<number> {
  let client: DaemonClient;
  try {
    client = await DaemonClient.connect(socket);
  } catch (err) {
    writeStderr(`error: no curserve daemon answers at ${socket}: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const r = await client.request<
      { stdout: string; stdout_base64?: string; stderr: string; code: number }
    >("grep_cli", { cwd, argv });
    writeStdout(
      r.stdout_base64 !== undefined
        ? Uint8Array.from(atob(r.stdout_base64), (c) => c.charCodeAt(0))
        : encoder.encode(r.stdout),
    );
    if (r.stderr) writeStderr(r.stderr);
    return r.code;
  } catch (err) {
    writeStderr(`error: ${(err as Error).message}\n`);
    return 2;
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  // `deno task` runs in the config's directory; INIT_CWD is where the user was.
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  const { socket, rest } = takeDaemon(Deno.args);
  const code = socket !== undefined
    ? await viaDaemon(socket, cwd, rest)
    : runGrep(Deno.args, { cwd, stdout: writeStdout, stderr: writeStderr });
  Deno.exit(code);
}
