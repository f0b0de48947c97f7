/**
 * Where the daemon's socket lives, for the daemon and for its clients.
 *
 * Never directly in a directory others can write (such as /tmp): another
 * user could bind the name first and answer in the daemon's place. A
 * daemon run as root listens in /run/curserve (root's, mode 0755); one
 * run by an ordinary user serves only that user, in `$XDG_RUNTIME_DIR`
 * (systemd's per-user 0700 directory) or else in a 0700 directory
 * /tmp/curserve-UID that the user owns.
 * @module
 */

/** The system-wide daemon's socket (run as root, e.g. by systemd). */
export const SYSTEM_SOCKET = "/run/curserve/curserve.sock";
/** The path the original curserve clients connect to. */
export const LEGACY_SOCKET = "/tmp/mem_search_service_requests.sock";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

/** This process's uid, or undefined without --allow-sys (clients such as
 * the MCP server run without it). */
function uid(): number | undefined {
  try {
    return Deno.uid() ?? undefined;
  } catch {
    return undefined;
  }
}

/** The socket of a daemon run by the current user (not root), if known. */
export function userSocketPath(): string | undefined {
  const runtime = env("XDG_RUNTIME_DIR");
  if (runtime) return `${runtime}/curserve.sock`;
  const id = uid();
  return id === undefined ? undefined : `/tmp/curserve-${id}/curserve.sock`;
}

/** Where a daemon started now listens unless told otherwise. */
export function daemonSocketPath(): string {
  return env("CURSERVE_SOCKET") ??
    (uid() === 0 ? SYSTEM_SOCKET : userSocketPath() ?? SYSTEM_SOCKET);
}

/**
 * Where a client looks for a daemon: `$CURSERVE_SOCKET`, else the user's
 * own daemon if its socket exists, else the system one.
 */
export function clientSocketPath(): string {
  const explicit = env("CURSERVE_SOCKET");
  if (explicit) return explicit;
  const own = uid() === 0 ? undefined : userSocketPath();
  if (own) {
    try {
      Deno.lstatSync(own);
      return own;
    } catch {
      // no daemon of the user's own (or no permission to look)
    }
  }
  return SYSTEM_SOCKET;
}

/**
 * Why `dir` is no safe place for a socket, or undefined when it is: it
 * must not be writable by anyone but its owner, who must be root or this
 * process's user.
 */
export function unsafeSocketDir(dir: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (err) {
    return `${dir}: ${(err as Error).message}`;
  }
  const mode = info.mode ?? 0;
  if (info.uid !== 0 && info.uid !== Deno.uid()) {
    return `${dir} belongs to uid ${info.uid}, who could replace the socket`;
  }
  if (mode & 0o022) {
    return `${dir} is writable by ${mode & 0o002 ? "every user" : "its group"} (mode ${
      (mode & 0o7777).toString(8)
    }): another user could bind the socket first`;
  }
  return undefined;
}

/** Creates `dir` (mode `mode`) if missing; an existing one is left as it is. */
export function ensureSocketDir(dir: string, mode: number): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
}
