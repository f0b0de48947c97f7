/**
 * Unix socket files that never exist with looser permissions than asked.
 * @module
 */
import { dirname, join } from "node:path";

/**
 * Listens on a Unix socket at `path` whose file has `mode` from the moment
 * it appears there: bound in a private directory beside it (mode 0700),
 * given its mode, then renamed into place. Binding at `path` and then
 * changing the mode left a moment in which the file had the umask's mode
 * (0755) and already accepted connections; a test saw it.
 * @throws What binding, chmod or rename throw (the directory is removed).
 */
export function listenUnix(path: string, mode: number): Deno.Listener<Deno.UnixConn> {
  // Short names: a socket path has a length limit (about 107 bytes).
  const dir = Deno.makeTempDirSync({ dir: dirname(path), prefix: ".cs" });
  try {
    const bound = join(dir, "s");
    const listener = Deno.listen({ transport: "unix", path: bound });
    try {
      Deno.chmodSync(bound, mode);
      Deno.renameSync(bound, path);
    } catch (err) {
      listener.close();
      throw err;
    }
    return listener;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
