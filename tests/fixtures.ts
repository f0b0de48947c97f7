/**
 * A deterministic file tree for comparing `deno task grep` with `rg`.
 *
 * Layout under the fixture root:
 *
 * - `repo/`  a git repository (`repo/.git` is a plain directory, which is all
 *   rg needs) with `.gitignore`, `.ignore`, `.rgignore`, `.git/info/exclude`
 *   and a nested `.gitignore`, plus source files in many languages, hidden
 *   files, binary files and awkward text files.
 * - `plain/` NOT a git repository: its `.gitignore` must be ignored by rg,
 *   its `.ignore` must be applied.
 * - `proj/`  a git repository as coding agents search it: `node_modules/`,
 *   `.qwenignore`, `.geminiignore`, ignore rules without `!`.
 * - `wt/`    a linked git worktree of `proj/` (`.git` is a `gitdir:` file).
 *
 * The recurring words are `foo`, `Foo`, `FOO_BAR`, `needle`, `TODO` and
 * `σίγμα`, so most patterns hit several files.
 *
 * @module
 */

const enc = new TextEncoder();

/** Bytes of a string, with `\xNN`-style raw bytes given as numbers. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p) : Uint8Array.from(p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** `text` as UTF-16 code units (little- or big-endian), as byte values. */
function utf16(text: string, order: "le" | "be"): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    out.push(...(order === "le" ? [u & 0xff, u >> 8] : [u >> 8, u & 0xff]));
  }
  return out;
}

/** About 300 KB of numbered rows, a few holding needle or foo, some close
 * to the ends of rg's 64 KB read buffers: a search stopped by -m with
 * context counts the bytes rg's reader had moved past. */
function manyRows(): string {
  const rows: string[] = [];
  for (let i = 0; i < 6000; i++) {
    let row = `row ${i} ${"abcdefghij".repeat(i % 9)}`;
    if ([3, 1290, 1291, 1302, 2500, 2600, 4100, 5999].includes(i)) row += " needle";
    if (i % 1000 === 999) row += " foo";
    rows.push(row);
  }
  return rows.join("\n") + "\n";
}

/** 70 KB of text lines with a few matches, then a NUL byte, then more matches. */
function lateBinary(): Uint8Array {
  let text = "";
  for (let i = 1; text.length < 70 * 1024; i++) {
    const n = String(i).padStart(5, "0");
    text += i % 400 === 0
      ? `line ${n}: the needle is here, foo\n`
      : `line ${n}: lorem ipsum dolor sit amet\n`;
  }
  text += "last text line before nul: needle foo\n";
  return bytes(text, [0], "after the nul: needle foo\nmore foo\n");
}

/** One 100 KB line whose only match is close to its end. */
function longLine(): string {
  const filler = "abcdefghij ".repeat(Math.ceil(100 * 1024 / 11));
  return `short line before\n${filler}needle at the end foo\nshort line after foo\n`;
}

const MAIN_RS = `//! Entry point. TODO: split into modules.
use std::collections::HashMap;

const FOO_BAR: u32 = 42;

fn foo() {
    let needle = 1;
    println!("{}", needle);
}

fn bar(x: i32) -> i32 {
    // TODO: handle overflow
    x + 1
}

pub struct Foo {
    name: String,
    count: usize,
}

impl Foo {
    pub fn new(name: &str) -> Foo {
        Foo { name: name.to_string(), count: 0 }
    }

    pub fn find_needle(&self, hay: &str) -> Option<usize> {
        hay.find("needle")
    }
}

fn main() {
    let mut map: HashMap<&str, u32> = HashMap::new();
    map.insert("foo", FOO_BAR);
    foo();
    println!("{}", bar(FOO_BAR as i32));
}
`;

const LIB_RS = `/// Library with a Foo trait.
pub trait Fooable {
    fn foo(&self) -> u32;
}

pub fn σίγμα() -> &'static str {
    "σίγμα"
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_needle() {
        assert!("haystack needle".contains("needle"));
    }
}
`;

const UTIL_PY = `"""Utilities. TODO: type hints."""
import os

FOO_BAR = "needle"


def foo(path):
    # find the needle
    with open(path) as f:
        return [line for line in f if "needle" in line]


class Foo:
    def __init__(self, name):
        self.name = name

    def bar(self):
        return foo(self.name)
`;

const APP_JS = `// TODO: remove jquery
const FOO_BAR = "foo";

function foo(needle) {
  return needle.split(",").map((x) => x.trim());
}

export class Foo {
  constructor() {
    this.needle = foo("a, b");
  }
}
`;

const APP_TS = `export interface Foo {
  needle: string;
  count: number;
}

export function foo(x: Foo): string {
  // TODO: validate
  return x.needle.repeat(x.count);
}

export const FOO_BAR: Foo = { needle: "foo", count: 2 };
`;

const FOO_C = `#include <stdio.h>
#include "foo.h"

/* TODO: free the needle */
int foo(const char *needle) {
    printf("%s\\n", needle);
    return FOO_BAR;
}

int main(void) {
    return foo("needle");
}
`;

const FOO_H = `#ifndef FOO_H
#define FOO_H

#define FOO_BAR 7

int foo(const char *needle);

#endif
`;

const MAIN_GO = `package main

import "fmt"

// Foo holds a needle.
type Foo struct {
\tNeedle string
}

func foo() Foo {
\t// TODO: context
\treturn Foo{Needle: "needle"}
}

func main() {
\tfmt.Println(foo().Needle)
}
`;

const FOO_JAVA = `package com.example;

/** TODO: javadoc */
public class Foo {
    public static final int FOO_BAR = 3;

    public String needle() {
        return "needle";
    }

    public static void main(String[] args) {
        System.out.println(new Foo().needle());
    }
}
`;

const README_MD = `# Fixture project

This project has a **foo** module and a Foo type.

## Usage

    cargo run -- --needle foo

- TODO: write docs
- Find the needle in the haystack.
- Greek: σίγμα, Σίγμα, ΣΊΓΜΑ.
`;

const MAKEFILE = `FOO_BAR ?= needle

.PHONY: all foo

all: foo

foo:
\t@echo "building foo with $(FOO_BAR)"
\t# TODO: parallel
`;

const RUN_SH = `#!/bin/sh
# TODO: set -e
FOO_BAR=needle
foo() {
    echo "foo: $1"
}
foo --foo-flag "$FOO_BAR"
exec ./app -needle -foo
`;

const WORDS_TXT = `foo foo foo
foofoo foo_bar foo-bar foo.bar (foo) [foo], foo; "foo"
barfoo foobar _foo foo_ Foo FOO
needle,needle;needle needle_needle needle
  leading spaces foo
trailing spaces foo   
\ttab indented foo
foo
   foo   
FOO_BAR FOO_BAR_BAZ XFOO_BAR
the end: foo
`;

const SPACES_TXT = `needle
  needle
needle  
\tneedle\t

   
end
`;

const UNICODE_TXT = `Greek: σίγμα Σίγμα ΣΊΓΜΑ and final ς in λόγος
Ελληνικά: αβγδε ΑΒΓΔΕ
French: Éclair éclair ÉCLAIR café CAFÉ naïve
German: Straße STRASSE straße groß GROSS
Russian: Москва москва МОСКВА привет foo
Kelvin sign: \u212a and k and K
Titlecase: \u01c4 \u01c5 \u01c6
Emoji: 🦀 needle 🦀
Mixed: fooσίγμα needleÉ
`;

const MULTI_TXT = `begin foo
  middle needle
end foo

begin bar
end bar
foo
needle
foo
needle
`;

/** Every file of the fixture, relative to its root. */
function files(): Record<string, string | Uint8Array> {
  return {
    // --- the git repository -------------------------------------------
    "repo/.git/HEAD": "ref: refs/heads/main\n",
    "repo/.git/info/exclude": "# local excludes\nexcluded_by_info.txt\n",
    "repo/.gitignore": [
      "# build outputs and logs",
      "secret.txt",
      "*.log",
      "!keep.log",
      "build/",
      "/only_root.txt",
      "**/gen/**",
      "tmp_*",
      "",
    ].join("\n"),
    "repo/.ignore": "ignored_by_dot_ignore.txt\n*.bak\n!notes.log\n",
    "repo/.rgignore": "!tmp_keep.txt\nrg_skipped.md\n",
    "repo/secret.txt": "the secret foo needle\n",
    "repo/app.log": "error: foo needle failed\n",
    "repo/keep.log": "kept log: foo needle\n",
    "repo/notes.log": "notes: TODO foo\n",
    "repo/only_root.txt": "foo only at the root\n",
    "repo/sub/only_root.txt": "foo not at the root, so visible\n",
    "repo/sub/deeper/debug.log": "debug foo needle\n",
    "repo/build/output.txt": "built foo needle\n",
    "repo/src/build/artifact.txt": "artifact foo\n",
    "repo/src/gen/generated.rs": "fn foo() {} // generated needle\n",
    "repo/gen/top.txt": "generated foo at top\n",
    "repo/tmp_keep.txt": "tmp kept by rgignore: foo\n",
    "repo/tmp_scratch.txt": "tmp scratch foo\n",
    "repo/ignored_by_dot_ignore.txt": "foo ignored by .ignore\n",
    "repo/old.bak": "foo backup needle\n",
    "repo/rg_skipped.md": "# foo skipped by rgignore\n",
    "repo/excluded_by_info.txt": "foo needle excluded by info/exclude\n",
    "repo/logs/.gitignore": "!*.log\nlocal.txt\n",
    "repo/logs/trace.log": "trace foo needle\n",
    "repo/logs/local.txt": "local foo\n",
    "repo/logs/keep.txt": "logs keep foo\n",
    // hidden files and directories
    "repo/.env": "FOO_BAR=needle\nSECRET=foo\n",
    "repo/.config/settings.json": '{ "foo": "needle", "FOO_BAR": true }\n',
    "repo/docs/.hidden.txt": "hidden foo needle\n",
    "repo/docs/guide.md": "# Guide\n\nUse foo to find the needle.\nTODO: more\n",
    // code in many languages
    "repo/src/main.rs": MAIN_RS,
    "repo/src/lib.rs": LIB_RS,
    "repo/src/util.py": UTIL_PY,
    "repo/web/app.js": APP_JS,
    "repo/web/app.ts": APP_TS,
    "repo/native/foo.c": FOO_C,
    "repo/native/foo.h": FOO_H,
    "repo/cmd/server/main.go": MAIN_GO,
    "repo/java/com/example/Foo.java": FOO_JAVA,
    "repo/README.md": README_MD,
    "repo/config.json": '{\n  "name": "foo",\n  "needle": [1, 2, 3],\n  "FOO_BAR": null\n}\n',
    "repo/config.yaml": "name: foo\nneedle:\n  - 1\n  - 2\n# TODO: schema\n",
    "repo/Cargo.toml":
      '[package]\nname = "foo"\nversion = "0.1.0"\n\n[dependencies]\nneedle = "1"\n',
    "repo/Makefile": MAKEFILE,
    "repo/scripts/run.sh": RUN_SH,
    // binary files
    "repo/data/early.bin": bytes(
      "foo needle",
      [0, 1, 2, 3],
      "\nbinary foo needle\n",
    ),
    "repo/data/late.bin": lateBinary(),
    // rg's first read returns only the 3 bytes its decoder peeked at for a
    // byte-order mark: a first line that fits in them is searched alone.
    "repo/peek/short.bin": bytes("a\nfoo needle\n", [0], "after needle\n"),
    "repo/peek/comment.c": "/*\n * the needle\n */\nint needle;\nneedle();\nfoo(needle);\n",
    // awkward text
    "repo/text/crlf.txt": "foo line one\r\nneedle two\r\n\r\nfoo\r\nlast foo needle\r\n",
    "repo/text/no_eol.txt": "first foo\nlast line foo needle",
    "repo/text/empty.txt": "",
    "repo/text/invalid_utf8.txt": bytes(
      "valid foo line\n",
      "caf",
      [0xe9],
      " foo latin1\n",
      [0xff, 0xfe],
      " needle after bad bytes\n",
      "needle ",
      [0xc3, 0x28],
      " foo\n",
      "plain end\n",
    ),
    "repo/text/unicode.txt": UNICODE_TXT,
    // Case folding beyond ASCII: (?i)s also matches U+017F (ſ), (?i)k the
    // Kelvin sign; the SIMD needle scan must not miss these lines.
    "repo/text/fold.txt": "the \u017Fherlock case\nKelvin \u212Aelvin\nplain Holmes\n" +
      "STRA\u00DFE strasse\nneedle \u017Fomething\n",
    "repo/text/long_line.txt": longLine(),
    "repo/text/words.txt": WORDS_TXT,
    "repo/text/spaces.txt": SPACES_TXT,
    "repo/text/multi.txt": MULTI_TXT,
    // names that sort in tricky ways
    "repo/sort/a.txt": "a foo\n",
    "repo/sort/a/inner.txt": "a/inner foo\n",
    "repo/sort/A.txt": "A foo\n",
    "repo/sort/B.txt": "B foo\n",
    "repo/sort/b.txt": "b foo\n",
    "repo/sort/a-b.txt": "a-b foo\n",
    "repo/sort/a_b.txt": "a_b foo\n",
    "repo/sort/a.b.txt": "a.b foo\n",
    "repo/sort/aa.txt": "aa foo\n",
    "repo/sort/_under.txt": "_under foo\n",
    "repo/sort/10.txt": "10 foo\n",
    "repo/sort/9.txt": "9 foo\n",
    "repo/sort/Z/z.txt": "Z/z foo\n",
    "repo/sort/a b.txt": "a space b foo\n",
    // deep nesting
    "repo/deep/l1/l2/l3/l4/l5/l6/bottom.txt": "bottom foo needle\n",
    "repo/deep/l1/mid.txt": "mid foo\n",
    // --- a directory outside any git repository ------------------------
    "plain/.gitignore": "plain_gitignored.txt\n",
    "plain/.ignore": "plain_ignored.txt\n",
    "plain/plain_gitignored.txt": "foo shown: no git repo here\n",
    "plain/plain_ignored.txt": "foo hidden by .ignore\n",
    "plain/readme.txt": "plain foo needle\nTODO plain\n",
    "plain/nested/data.json": '{"foo": "needle"}\n',
    // --- a project as coding agents search it ----------------------------
    // (no `!` rules, so a workspace answers --ignore-file from memory)
    "proj/.git/HEAD": "ref: refs/heads/main\n",
    "proj/.git/info/exclude": "local.txt\n",
    "proj/.gitignore": "dist/\n*.tmp\n",
    "proj/.qwenignore": "secret/\n*.key\n",
    "proj/.geminiignore": "docs/draft.md\nsrc/gen/\n",
    "proj/.extraignore": "*.md\n",
    "proj/src/app.ts": "import { util } from './util';\n// Needle: the handler\n" +
      "export function handler() {\n  return util('needle');\n}\n",
    "proj/src/util.ts": "export const util = (s: string) => s;\n// TODO: needle here too\n",
    "proj/src/gen/types.ts": "export type Needle = string;\n",
    "proj/dist/bundle.js": "function handler(){return 'needle'}\n",
    "proj/node_modules/lib/index.js": "module.exports = 'needle';\n",
    "proj/src/node_modules/x.js": "// needle in a nested node_modules\n",
    "proj/secret/keys.txt": "needle: s3cr3t\n",
    "proj/notes.key": "needle key\n",
    "proj/cache.tmp": "needle cached\n",
    "proj/local.txt": "needle local only\n",
    "proj/README.md": "# Project\n\nSearch for the needle.\nfoo.bar(needle)\n",
    "proj/docs/guide.md": "one\ntwo\nneedle three\nfour\nfive\nsix needle\nseven\n",
    "proj/docs/draft.md": "draft needle\n",
    "proj/rows/rows.txt": manyRows(),
    // pattern files for -f
    "proj/pats/two.txt": "TODO\nexport\n",
    "proj/pats/empty.txt": "",
    "proj/pats/crlf.txt": "handler\r\nutil\r\n",
    "proj/pats/blank_line.txt": "zzz\n\n",
    // a UTF-8 byte-order mark: rg searches what follows it
    "proj/bom/bom.txt": bytes([0xef, 0xbb, 0xbf], "needle at the start\nfoo\n"),
    "proj/bom/only_bom.txt": bytes([0xef, 0xbb, 0xbf]),
    // a UTF-16 byte-order mark: rg searches (and prints) the UTF-8 it decodes to
    "proj/utf16/le.txt": bytes(
      [0xff, 0xfe],
      utf16("hello needle\r\nsecond line\ncaf\u00e9 needle \u00fcn\u00efcode \u{1d11e}\n", "le"),
    ),
    "proj/utf16/be.txt": bytes([0xfe, 0xff], utf16("needle in big endian\nother foo\n", "be")),
    // a lone low surrogate, a high one before a letter, an odd last byte
    "proj/utf16/bad.txt": bytes(
      [0xff, 0xfe, 0x00, 0xdc],
      utf16("needle\n", "le"),
      [0x00, 0xd8],
      utf16("x\nneedle", "le"),
      [0x7a],
    ),
    // a high surrogate cut short by the end: one U+FFFD
    "proj/utf16/cut.txt": bytes([0xff, 0xfe], utf16("needle\n", "le"), [0x00, 0xd8, 0x7a]),
    // decodes to a NUL: binary
    "proj/utf16/nul.txt": bytes([0xff, 0xfe], utf16("needle\u0000 binary\nneedle two\n", "le")),
    "proj/utf16/only_bom.txt": bytes([0xff, 0xfe]),
    // a linked worktree of proj: `.git` names its git dir, whose `commondir`
    // leads to proj/.git, whose info/exclude applies here too
    "proj/.git/worktrees/wt/commondir": "../..\n",
    "proj/.git/worktrees/wt/HEAD": "ref: refs/heads/wt\n",
    "wt/.git": "gitdir: {ROOT}/proj/.git/worktrees/wt\n", // absolute, as git writes it
    "wt/local.txt": "needle excluded in the main repository\n",
    "wt/kept.txt": "needle kept\n",
  };
}

/**
 * Writes the fixture tree into `dir` (which should be a fresh, empty
 * directory with no ignore files above it, e.g. from `Deno.makeTempDir()`).
 *
 * @param dir absolute path of the directory to fill
 */
export async function makeFixtureTree(dir: string): Promise<void> {
  for (const [rel, content] of Object.entries(files())) {
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") {
      await Deno.writeTextFile(path, content.replaceAll("{ROOT}", dir));
    } else await Deno.writeFile(path, content);
  }
  // Symbolic links, which rg follows only with -L/--follow.
  await Deno.mkdir(`${dir}/proj/links`);
  await Deno.symlink("../docs", `${dir}/proj/links/docs`);
  await Deno.symlink("../README.md", `${dir}/proj/links/readme.md`);
}
