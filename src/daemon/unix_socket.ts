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
 * @param owner Given to the socket file before it appears (a legacy
 * response socket belongs to the user it answers).
 * @throws What binding, chmod or rename throw (the directory is removed),
 * or {@link Deno.errors.AlreadyExists} when a directory is at `path`.
 */
export function listenUnix(
  path: string,
  mode: number,
  owner?: { uid: number | null; gid: number | null },
): Deno.Listener<Deno.UnixConn> {
  // Short names: a socket path has a length limit (about 107 bytes).
  const dir = Deno.makeTempDirSync({ dir: dirname(path), prefix: ".cs" });
  try {
    const bound = join(dir, "s");
    const listener = Deno.listen({ transport: "unix", path: bound });
    try {
      Deno.chmodSync(bound, mode);
      if (owner) Deno.chownSync(bound, owner.uid, owner.gid);
      if (lstatOrNull(path)?.isDirectory) {
        throw new Deno.errors.AlreadyExists(`a directory is in the way at ${path}`);
      }
      // rename(2) replaces a file, socket or symbolic link there at once.
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

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}
