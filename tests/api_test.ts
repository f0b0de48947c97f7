/**
 * The in-process API (`mod.ts`): the parity table run through ONE
 * `Workspace` loaded on the fixture root, plus direct tests of the API.
 *
 * A workspace holds only what rg's default walk finds, so a parity case runs
 * here when nothing in it reaches outside that: no `cwd`, no path outside
 * the root, no `--hidden`/`--no-ignore`, and nothing that makes rg search a
 * file the workspace does not hold: a named file, a named directory's
 * ignored contents, or files that `-g`/`-t` let past ignore and hidden
 * rules (`rg --files` with the case's paths and filters tells). The others
 * are counted per rule and printed by the last test.
 *
 * @module
 */

import { deepStrictEqual, match, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { join } from "node:path";
import { type GrepMatch, type GrepOptions, Workspace } from "../mod.ts";
import {
  check,
  fixtureRoot,
  rg,
  rgFiles,
  TEST_OPTS,
  WORKSPACE_SKIP_RULES,
  type WorkspaceSkipRule,
  workspaceSkipRule,
} from "./harness.ts";
import { PARITY_CASES, type ParityCase } from "./parity_cases.ts";

const root = await fixtureRoot();
const ws = await Workspace.open(root);
// With sketches built, every case below also checks that skipping files by
// their n-gram sketch never loses a match (the CLI runs without them).
strictEqual(ws.buildSketches(), 0);

// --- which parity cases apply ------------------------------------------------

const skipped = Object.fromEntries(
  Object.keys(WORKSPACE_SKIP_RULES).map((r) => [r, 0]),
) as Record<WorkspaceSkipRule, number>;
const applicable: ParityCase[] = [];
for (const c of PARITY_CASES) {
  const rule = workspaceSkipRule(c);
  if (rule) skipped[rule]++;
  else applicable.push(c);
}

for (const c of applicable) {
  Deno.test({
    name: `api: ${c.name}`,
    ...TEST_OPTS,
    fn: async () => check(c, { rg: await rg(c.args, root), ours: ws.run(c.args) }),
  });
}

// --- the API itself ----------------------------------------------------------

Deno.test("Workspace.open rejects a missing directory with a TypeError naming it", async () => {
  const missing = join(root, "no/such/dir");
  await rejects(Workspace.open(missing), (err: Error) => {
    ok(err instanceof TypeError, `expected a TypeError, got ${err}`);
    ok(err.message.includes(missing), err.message);
    return true;
  });
});

Deno.test("grep throws a SyntaxError for an invalid pattern", () => {
  throws(() => ws.grep({ pattern: "foo(" }), (err: Error) => {
    ok(err instanceof SyntaxError, `expected a SyntaxError, got ${err}`);
    match(err.message, /regex parse error/);
    return true;
  });
});

/** The match messages of `rg --json ...args`, as `GrepMatch`es. */
async function rgMatches(args: string[]): Promise<GrepMatch[]> {
  type Data = { text?: string; bytes?: string };
  const { stdout } = await rg(["--json", ...args], root);
  return new TextDecoder().decode(stdout).split("\n")
    .filter((l) => l.startsWith('{"type":"match"'))
    .map((l) => JSON.parse(l).data)
    .map((d) => ({
      path: d.path.text ?? atob(d.path.bytes),
      lineNumber: d.line_number,
      line: d.lines.text ?? atob(d.lines.bytes),
      submatches: d.submatches.map((s: { start: number; end: number; match: Data }) => ({
        start: s.start,
        end: s.end,
        text: s.match.text ?? atob(s.match.bytes!),
      })),
    }));
}

const MATCH_CASES: [GrepOptions, string[]][] = [
  [{ pattern: "foo" }, ["foo"]],
  [{ pattern: "σίγμα" }, ["σίγμα"]],
  [{ pattern: "needle", ignoreCase: true }, ["-i", "needle"]],
  [{ pattern: ["TODO", "FOO_BAR"], paths: ["repo/src"] }, [
    "-e",
    "TODO",
    "-e",
    "FOO_BAR",
    "repo/src",
  ]],
];
for (const [options, args] of MATCH_CASES) {
  Deno.test({
    name: `matches agrees with rg --json ${args.join(" ")}`,
    ...TEST_OPTS,
    async fn() {
      const expected = await rgMatches(args);
      ok(expected.length > 0, "rg found no matches; the fixture changed?");
      deepStrictEqual(ws.matches(options), expected);
    },
  });
}

Deno.test({
  name: "files with a type equals rg --files -t rust",
  ...TEST_OPTS,
  async fn() {
    const expected = await rgFiles(["-t", "rust"], root);
    ok(expected.length > 0);
    deepStrictEqual(ws.files({ types: ["rust"] }), expected);
  },
});

Deno.test({
  name: "stats counts the files rg --files lists and their bytes",
  ...TEST_OPTS,
  async fn() {
    const files = await rgFiles([], root);
    const bytes = files.reduce((n, f) => n + Deno.statSync(join(root, f)).size, 0);
    const stats = ws.stats();
    strictEqual(stats.files, files.length);
    strictEqual(stats.bytes, bytes);
  },
});

Deno.test("grep after close throws, and other workspaces keep working", async () => {
  const other = await Workspace.open(join(root, "repo/src"));
  other.close();
  throws(() => other.grep({ pattern: "foo" }));
  ok(ws.grep({ pattern: "foo" }).matched);
});

Deno.test({
  name: "edits reach remembered glob selections and per-file case-fold facts (vs rg)",
  ...TEST_OPTS,
  async fn() {
    // Searches remember which files a glob selects, and whether each file
    // holds ſ or the Kelvin sign (which (?i)s and (?i)k match); both must
    // follow edits.
    const dir = await Deno.makeTempDir({ prefix: "curserve-edit-" });
    try {
      await Deno.mkdir(join(dir, "src"));
      await Deno.writeTextFile(join(dir, "src/a.rs"), "fn suspend() {}\n");
      await Deno.writeTextFile(join(dir, "src/b.py"), "def suspend(): pass\n");
      const local = await Workspace.open(dir);
      const both = async (args: string[]) =>
        check({ name: args.join(" "), args }, { rg: await rg(args, dir), ours: local.run(args) });
      const rsSearch = ["-i", "-n", "-g", "*.rs", "suspend"];
      const foldSearch = ["-i", "-n", "pm_suspend|kelvin_sink"];
      await both(rsSearch);
      await both(foldSearch);
      await Deno.writeTextFile(join(dir, "src/c.rs"), "// SUSPEND here too\n");
      await Deno.writeTextFile(
        join(dir, "src/b.py"),
        "PM_\u017FUSPEND = 1\nKELVIN_SIN\u212A = 2\npm_suspend = 3\n",
      );
      strictEqual(local.refresh(["src/c.rs", "src/b.py"]), 2);
      const lines = new TextDecoder().decode(local.run(foldSearch).stdout).trim().split("\n");
      strictEqual(lines.length, 3, "PM_ſUSPEND, KELVIN_SIN\u212A and pm_suspend all match");
      await both(rsSearch);
      await both(foldSearch);
      local.buildSketches();
      await both(foldSearch);
      local.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("api parity summary: cases run and skipped per rule", () => {
  const lines = Object.entries(WORKSPACE_SKIP_RULES).map(([r, why]) =>
    `  skipped ${skipped[r as WorkspaceSkipRule]}: ${why}`
  );
  console.log(
    `api parity: ran ${applicable.length} of ${PARITY_CASES.length} cases\n${lines.join("\n")}`,
  );
});
