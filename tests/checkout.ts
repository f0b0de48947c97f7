/**
 * A fresh checkout of this repository in a temp dir, as a new user gets it
 * (`git clone`), with the working tree's uncommitted changes laid over it so
 * the tests check the code being worked on, and the environment of a machine
 * that has never run Deno here: an empty `DENO_DIR` and an npm registry that
 * refuses connections.
 * @module
 */

import { dirname, join } from "node:path";
import { cleanEnv, exists, REPO } from "./harness.ts";

/** An npm registry nothing listens on (port 9, discard): every download is refused. */
export const DEAD_REGISTRY = "http://127.0.0.1:9/";

/** Runs git in `cwd`, returning stdout; throws with git's stderr on failure. */
async function git(args: string[], cwd: string): Promise<Uint8Array> {
  const out = await new Deno.Command("git", { args, cwd, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** Paths in NUL-separated git output. */
function paths(out: Uint8Array): string[] {
  return new TextDecoder().decode(out).split("\0").filter((p) => p !== "");
}

/**
 * Clones the repository into a new temp dir and applies the working tree's
 * changes against HEAD (staged or not, new files not ignored), without
 * committing them: files changed or added are copied, files deleted removed.
 * @returns The clone's directory; remove its parent, `dirname(dir)`, when done.
 */
export async function cloneWorkingTree(prefix: string): Promise<string> {
  const parent = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  const dir = join(parent, "curserve");
  await git(["clone", "--quiet", "--no-hardlinks", REPO, dir], parent);
  const changed = [
    ...paths(await git(["diff", "--no-renames", "--name-only", "-z", "HEAD"], REPO)),
    ...paths(await git(["ls-files", "-z", "--others", "--exclude-standard"], REPO)),
  ];
  for (const path of changed) {
    const from = join(REPO, path), to = join(dir, path);
    if (exists(from)) {
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.copyFile(from, to);
    } else {
      await Deno.remove(to).catch(() => {});
    }
  }
  return dir;
}

/**
 * The environment of a first run on a machine with no network to npm:
 * nothing cached (`denoDir` should be an empty dir), the registry refused.
 */
export function firstRunEnv(denoDir: string): Record<string, string> {
  const env = cleanEnv();
  for (const k of Object.keys(env)) {
    if (/^(DENO_|NPM_CONFIG_|npm_config_)/.test(k) || /_proxy$/i.test(k)) delete env[k];
  }
  delete env.CURSERVE_SOCKET;
  env.DENO_DIR = denoDir;
  env.NPM_CONFIG_REGISTRY = DEAD_REGISTRY;
  env.DENO_NO_UPDATE_CHECK = "1";
  env.NO_COLOR = "1";
  return env;
}
