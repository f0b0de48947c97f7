/**
 * Deterministic, code-like benchmark corpora.
 *
 * `generateCorpus(dir, bytes, seed)` writes a tree that looks like a real
 * multi-language repository: nested directories; Rust, TypeScript,
 * JavaScript, Python, Go, C, Java, Markdown, JSON and YAML files of a few KB
 * to about 100 KB (log-uniform, so most are small); identifiers, doc and line
 * comments, string literals, `UPPER_CASE_CONSTANTS` such as `FOO_MAX_BAR = 3`
 * and `PM_SUSPEND`, a little non-ASCII text, the words `Sherlock` and `Holmes`
 * (in several cases) sprinkled rarely, a couple of binary files, a `.git/`
 * marker, and a `.gitignore` that ignores a generated `build/` directory and
 * `*.log` files (which are written too, and contain matches, so an ignore bug
 * shows up as a parity failure). The same `(bytes, seed)` always gives the same
 * bytes: everything comes from one seeded PRNG (mulberry32).
 *
 * `cachedCorpus(mb, seed)` generates once into
 * `${CURSERVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/curserve}/gen-<MB>mb-<seed>`
 * and reuses it afterwards.
 *
 * CLI: `deno run -A bench/corpus.ts <dir> <MB> [seed]`
 * @module
 */
import { join } from "node:path";

/** Bump when the generator's output changes, so cached corpora are rebuilt. */
export const GENERATOR_VERSION = 2;

const MARKER = ".curserve-corpus";

/** mulberry32: a tiny 32-bit PRNG; good enough for text, fully deterministic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- vocabulary

const NOUNS = (
  "buffer request response handler config state cache index node token stream queue worker " +
  "session user account file path entry record table column row value key item list map set " +
  "tree graph edge vertex packet frame header payload message event signal channel socket " +
  "client server device driver module plugin context scope thread task job batch chunk block " +
  "page region segment range offset length count size limit timeout retry error status result " +
  "option flag mode level policy rule filter pattern matcher parser lexer schema field kind " +
  "name label tag version hash digest signature credential permission role group owner tenant " +
  "workspace project commit branch diff patch lock mutex timer clock interval deadline budget " +
  "quota metric counter gauge histogram sample trace span logger writer reader encoder decoder " +
  "format layout style color image texture shader mesh camera scene widget window cursor " +
  "selection document symbol registry manifest bundle asset resource route endpoint address " +
  "port host domain zone cluster shard replica snapshot journal ledger invoice order payment"
).split(" ");

const VERBS = (
  "get set parse load save read write open close init reset update create delete insert " +
  "remove find lookup resolve handle process dispatch emit flush sync spawn start stop run " +
  "poll wait notify schedule register unregister validate check verify encode decode " +
  "serialize deserialize compute apply merge split join sort filter collect build render " +
  "draw fetch send recv connect accept bind listen allocate free release acquire push pop " +
  "peek drain attach detach mount unmount enable disable suspend resume probe scan walk"
).split(" ");

const ADJECTIVES = (
  "max min default current next prev last first pending active idle dirty clean raw local " +
  "remote global shared inner outer total partial stale fresh cached async sync lazy eager"
).split(" ");

const UPPER = (
  "PM DEV IRQ DMA NET FS IO PAGE CACHE QUEUE BUF REQ RESP CONN SOCK TASK JOB POOL HEAP " +
  "STACK NODE TREE LIST HASH KEY VAL FILE PATH USER ROLE SESSION TOKEN RETRY TIMEOUT LIMIT " +
  "SIZE COUNT FLAG MODE STATE LEVEL WORKER THREAD CPU MEM GPU USB PCI ACPI HTTP TLS DNS"
).split(" ");

const UPPER_TAIL = (
  "SIZE LEN COUNT DEPTH RETRIES BYTES ENTRIES ITEMS WORKERS THREADS PAGES DELAY MS SECS " +
  "SUSPEND RESUME ENABLE DISABLE READY BUSY IDLE DONE FAILED OK ERR INIT EXIT"
).split(" ");

const PROSE = (
  "the a an this that we it is are be should must may can will when if because so but and " +
  "or not only also then before after while until unless otherwise note make sure keep " +
  "avoid never always here there each every all some any more less than once twice again " +
  "caller callee returns takes holds owns borrows copies moves points refers contains uses " +
  "expects requires assumes guarantees ensures fails succeeds blocks waits wakes races " +
  "overflows truncates rounds clamps wraps silently explicitly eventually immediately"
).split(" ");

const UNICODE_BITS = [
  "café",
  "naïve",
  "Straße",
  "façade",
  "日本語",
  "Ελληνικά",
  "Привет",
  "→",
  "≤",
  "½",
  "€",
  "KELVIN",
  "ſtate",
];

const SHERLOCK = [
  "Sherlock",
  "Holmes",
  "Sherlock Holmes",
  "Mr. Holmes",
  "sherlock",
  "HOLMES",
  "Holmesian",
  "SHERLOCK",
];

const TYPES_RS = [
  "u8",
  "u32",
  "u64",
  "usize",
  "i64",
  "bool",
  "String",
  "&str",
  "Vec<u8>",
  "Option<u32>",
];
const TYPES_TS = [
  "number",
  "string",
  "boolean",
  "Uint8Array",
  "string[]",
  "Map<string, number>",
  "unknown",
];
const TYPES_GO = ["int", "int64", "uint32", "string", "bool", "[]byte", "error", "time.Duration"];
const TYPES_C = [
  "int",
  "unsigned int",
  "size_t",
  "u32",
  "u64",
  "bool",
  "const char *",
  "void *",
  "struct list_head *",
];
const TYPES_JAVA = [
  "int",
  "long",
  "String",
  "boolean",
  "byte[]",
  "List<String>",
  "Map<String, Integer>",
];

type Lang = "rs" | "ts" | "js" | "py" | "go" | "c" | "h" | "java" | "md" | "json" | "yaml";

/** Relative weights: a polyglot repository, heavier on the main languages. */
const LANG_WEIGHTS: [Lang, number][] = [
  ["rs", 18],
  ["ts", 16],
  ["c", 14],
  ["h", 6],
  ["py", 14],
  ["go", 12],
  ["js", 6],
  ["java", 6],
  ["md", 5],
  ["json", 2],
  ["yaml", 1],
];

// ---------------------------------------------------------------- text model

class Gen {
  constructor(readonly rand: () => number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  weighted<T>(xs: readonly [T, number][]): T {
    let total = 0;
    for (const [, w] of xs) total += w;
    let r = this.rand() * total;
    for (const [x, w] of xs) {
      r -= w;
      if (r < 0) return x;
    }
    return xs[xs.length - 1][0];
  }

  /** Skewed towards the front of `xs` (P(i) ~ 1/sqrt(i)), as identifier
   * frequencies in real code are: a few names are everywhere. */
  common<T>(xs: readonly T[]): T {
    const r = this.rand();
    return xs[Math.floor(xs.length * r * r)];
  }
  /** Identifier words: mostly verb+noun, noun, adjective+noun. */
  words(): string[] {
    const r = this.rand();
    if (r < 0.4) return [this.common(VERBS), this.common(NOUNS)];
    if (r < 0.6) return [this.common(NOUNS)];
    if (r < 0.8) return [this.pick(ADJECTIVES), this.common(NOUNS)];
    return [this.common(VERBS), this.pick(ADJECTIVES), this.common(NOUNS)];
  }
  snake(): string {
    return this.words().join("_");
  }
  camel(): string {
    const w = this.words();
    return w[0] + w.slice(1).map(cap).join("");
  }
  pascal(): string {
    return this.words().map(cap).join("");
  }
  /** `FOO_BAR`, `FOO_MAX_BAR`, `PM_SUSPEND`, ... */
  constant(): string {
    const r = this.rand();
    const head = this.pick(UPPER);
    if (r < 0.12) return `${head}_MAX_${this.pick(UPPER_TAIL)}`;
    if (r < 0.18) return `${head}_${this.pick(UPPER)}_MAX`;
    if (r < 0.24) return `MAX_${head}_${this.pick(UPPER_TAIL)}`;
    if (r < 0.5) return `${head}_${this.pick(UPPER_TAIL)}`;
    return `${head}_${this.pick(UPPER)}_${this.pick(UPPER_TAIL)}`;
  }
  number(): string {
    const r = this.rand();
    if (r < 0.5) return String(this.int(16));
    if (r < 0.8) return String(this.int(4096));
    return "0x" + this.int(0x10000).toString(16).padStart(4, "0");
  }

  /** A comment sentence: prose with identifiers, rarely Unicode or Sherlock. */
  sentence(): string {
    const n = this.range(4, 14);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.rand();
      if (r < 0.62) out.push(this.pick(PROSE));
      else if (r < 0.8) out.push(this.pick(NOUNS));
      else if (r < 0.9) out.push(this.pick(VERBS));
      else if (r < 0.96) out.push("`" + this.snake() + "`");
      else out.push(this.constant());
    }
    if (this.chance(0.01)) out.splice(this.int(out.length), 0, this.pick(UNICODE_BITS));
    if (this.chance(0.0012)) out.splice(this.int(out.length), 0, this.pick(SHERLOCK));
    const s = out.join(" ");
    return cap(s) + (this.chance(0.8) ? "." : "");
  }

  /** Contents of a string literal. */
  message(): string {
    const r = this.rand();
    let s: string;
    if (r < 0.35) s = `failed to ${this.pick(VERBS)} ${this.pick(NOUNS)}`;
    else if (r < 0.55) {
      s = `${this.pick(NOUNS)} ${
        this.pick([
          "not found",
          "already exists",
          "is closed",
          "timed out",
          "too large",
          "out of range",
        ])
      }`;
    } else if (r < 0.7) s = `invalid ${this.pick(NOUNS)}: {}`;
    else if (r < 0.85) {
      s = `${gerund(this.pick(VERBS))} ${this.pick(ADJECTIVES)} ${this.pick(NOUNS)}`;
    } else s = this.snake();
    if (this.chance(0.01)) s += " " + this.pick(UNICODE_BITS);
    if (this.chance(0.002)) s += " (" + this.pick(SHERLOCK) + ")";
    return s;
  }
}

function gerund(verb: string): string {
  return (verb.endsWith("e") && !verb.endsWith("ee") ? verb.slice(0, -1) : verb) + "ing";
}

function cap(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}

/** Accumulates lines until a target size is reached. */
class Out {
  lines: string[] = [];
  size = 0;
  push(...lines: string[]): void {
    for (const line of lines) {
      this.lines.push(line);
      this.size += line.length + 1;
    }
  }
  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

// ---------------------------------------------------------- per-language text

type Syntax = {
  line: string; // line comment
  doc: string; // doc comment prefix
  ind: string;
  type: () => string;
  ident: () => string;
  local: (name: string, value: string) => string;
  call: (f: string, args: string[]) => string;
  ret: (v: string) => string;
  ifOpen: (cond: string) => string;
  close: string;
  fail: (msg: string) => string;
  log: (msg: string) => string;
  /** Statement terminator. */
  semi: string;
};

function syntaxFor(lang: Lang, g: Gen): Syntax {
  const brace = { ifOpen: (c: string) => `if (${c}) {`, close: "}" };
  switch (lang) {
    case "rs":
      return {
        line: "//",
        doc: "///",
        ind: "    ",
        type: () => g.pick(TYPES_RS),
        ident: () => g.snake(),
        local: (n, v) => `let ${g.chance(0.3) ? "mut " : ""}${n} = ${v};`,
        call: (f, a) =>
          `${g.chance(0.4) ? "self." : ""}${f}(${a.join(", ")})${g.chance(0.3) ? "?" : ""}`,
        ret: (v) => `return Ok(${v});`,
        ifOpen: (c) => `if ${c} {`,
        close: "}",
        fail: (m) => `return Err(Error::new(${JSON.stringify(m)}));`,
        log: (m) => `tracing::debug!(${JSON.stringify(m)});`,
        semi: ";",
      };
    case "ts":
    case "js":
      return {
        line: "//",
        doc: " *",
        ind: "  ",
        type: () => g.pick(TYPES_TS),
        ident: () => g.camel(),
        local: (n, v) => `${g.chance(0.7) ? "const" : "let"} ${n} = ${v};`,
        call: (f, a) =>
          `${g.chance(0.3) ? "this." : g.chance(0.2) ? "await " : ""}${f}(${a.join(", ")})`,
        ret: (v) => `return ${v};`,
        ...brace,
        fail: (m) =>
          `throw new ${g.pick(["Error", "TypeError", "RangeError"])}(${JSON.stringify(m)});`,
        log: (m) => `console.${g.pick(["log", "debug", "warn"])}(${JSON.stringify(m)});`,
        semi: ";",
      };
    case "py":
      return {
        line: "#",
        doc: "",
        ind: "    ",
        type: () => g.pick(["int", "str", "bytes", "bool", "list[str]", "dict[str, int]", "None"]),
        ident: () => g.snake(),
        local: (n, v) => `${n} = ${v}`,
        call: (f, a) => `${g.chance(0.4) ? "self." : ""}${f}(${a.join(", ")})`,
        ret: (v) => `return ${v}`,
        ifOpen: (c) => `if ${c}:`,
        close: "",
        fail: (m) =>
          `raise ${g.pick(["ValueError", "RuntimeError", "KeyError"])}(${JSON.stringify(m)})`,
        log: (m) => `logger.${g.pick(["info", "debug", "warning"])}(${JSON.stringify(m)})`,
        semi: "",
      };
    case "go":
      return {
        line: "//",
        doc: "//",
        ind: "\t",
        type: () => g.pick(TYPES_GO),
        ident: () => g.camel(),
        local: (n, v) => `${n} := ${v}`,
        call: (f, a) => `${g.chance(0.4) ? "s." : ""}${cap(f)}(${a.join(", ")})`,
        ret: (v) => `return ${v}, nil`,
        ifOpen: (c) => `if ${c} {`,
        close: "}",
        fail: (m) => `return nil, fmt.Errorf(${JSON.stringify(m.replace("{}", "%v"))}, err)`,
        log: (m) => `log.Printf(${JSON.stringify(m.replace("{}", "%v"))}, err)`,
        semi: "",
      };
    case "java":
      return {
        line: "//",
        doc: " *",
        ind: "    ",
        type: () => g.pick(TYPES_JAVA),
        ident: () => g.camel(),
        local: (n, v) => `var ${n} = ${v};`,
        call: (f, a) => `${g.chance(0.3) ? "this." : ""}${f}(${a.join(", ")})`,
        ret: (v) => `return ${v};`,
        ...brace,
        fail: (m) => `throw new IllegalStateException(${JSON.stringify(m)});`,
        log: (m) => `LOG.info(${JSON.stringify(m)});`,
        semi: ";",
      };
    default: // c, h
      return {
        line: "//",
        doc: " *",
        ind: "\t",
        type: () => g.pick(TYPES_C),
        ident: () => g.snake(),
        local: (n, v) => `${g.pick(TYPES_C)} ${n} = ${v};`,
        call: (f, a) => `${f}(${a.join(", ")})`,
        ret: (v) => `return ${v};`,
        ...brace,
        fail: (m) =>
          `return -${g.pick(["EINVAL", "ENOMEM", "EBUSY", "ENODEV", "EIO", "EAGAIN"])}; /* ${m} */`,
        log: (m) => `pr_${g.pick(["debug", "info", "warn", "err"])}("${m}\\n");`,
        semi: ";",
      };
  }
}

function expr(g: Gen, s: Syntax): string {
  const r = g.rand();
  if (r < 0.3) return s.call(s.ident(), args(g, s));
  if (r < 0.5) return g.number();
  if (r < 0.6) return g.constant();
  if (r < 0.75) {
    return `${s.ident()} ${g.pick(["+", "-", "*", "&", "|", "<<"])} ${
      g.chance(0.5) ? g.number() : g.constant()
    }`;
  }
  if (r < 0.85) return JSON.stringify(g.message());
  return s.ident();
}

function args(g: Gen, s: Syntax): string[] {
  const n = g.int(4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(g.chance(0.7) ? s.ident() : expr(g, s));
  return out;
}

function cond(g: Gen, s: Syntax): string {
  const r = g.rand();
  if (r < 0.4) {
    return `${s.ident()} ${g.pick([">", ">=", "<", "==", "!="])} ${
      g.chance(0.6) ? g.constant() : g.number()
    }`;
  }
  if (r < 0.7) return s.call(s.ident(), args(g, s));
  return `${s.ident()} ${g.pick(["&&", "||"])} ${s.ident()}`.replace(
    /&&|\|\|/,
    (m) => (s.line === "#" ? (m === "&&" ? "and" : "or") : m),
  );
}

/** A function body of a few to a few dozen statements. */
function body(g: Gen, s: Syntax, out: Out, indent: string): void {
  const n = g.range(2, 18);
  for (let i = 0; i < n; i++) {
    const r = g.rand();
    if (r < 0.3) out.push(indent + s.local(s.ident(), expr(g, s)));
    else if (r < 0.45) out.push(indent + s.call(s.ident(), args(g, s)) + s.semi);
    else if (r < 0.6) {
      out.push(indent + s.ifOpen(cond(g, s)));
      const inner = indent + s.ind;
      if (g.chance(0.5)) out.push(inner + s.fail(g.message()));
      else out.push(inner + s.log(g.message()));
      if (s.close) out.push(indent + s.close);
    } else if (r < 0.72) out.push(indent + `${s.line} ${g.sentence()}`);
    else if (r < 0.8) out.push("");
    else if (r < 0.9) out.push(indent + s.log(g.message()));
    else out.push(indent + s.local(s.ident(), s.call(s.ident(), args(g, s))));
  }
  out.push(indent + s.ret(expr(g, s)));
}

function docBlock(g: Gen, s: Syntax, out: Out, indent: string, lang: Lang): void {
  const n = g.range(1, 4);
  if (lang === "py") {
    out.push(indent + '"""' + g.sentence());
    for (let i = 1; i < n; i++) out.push(indent + g.sentence());
    out.push(indent + '"""');
  } else if (s.doc === " *") {
    out.push(indent + "/**");
    for (let i = 0; i < n; i++) out.push(indent + " * " + g.sentence());
    out.push(indent + " */");
  } else {
    for (let i = 0; i < n; i++) out.push(indent + s.doc + " " + g.sentence());
  }
}

function constantDecl(g: Gen, lang: Lang, s: Syntax): string {
  const name = g.constant();
  const v = g.number();
  switch (lang) {
    case "rs":
      return `${g.chance(0.5) ? "pub " : ""}const ${name}: ${
        g.pick(["usize", "u32", "u64", "i32"])
      } = ${v};`;
    case "ts":
    case "js":
      return `${g.chance(0.5) && lang === "ts" ? "export " : ""}const ${name} = ${v};`;
    case "py":
      return `${name} = ${v}`;
    case "go":
      return `const ${name} = ${v}`;
    case "java":
      return `${s.ind}private static final int ${name} = ${v};`;
    default:
      return g.chance(0.6) ? `#define ${name}\t${v}` : `static const int ${name} = ${v};`;
  }
}

function header(g: Gen, lang: Lang, path: string): string[] {
  const lines: string[] = [];
  const mod = path.split("/").slice(0, -1).join("::") || "crate";
  switch (lang) {
    case "rs":
      lines.push(`//! ${g.sentence()}`, "");
      for (let i = g.range(1, 5); i > 0; i--) lines.push(`use crate::${g.snake()}::${g.pascal()};`);
      lines.push("use std::collections::HashMap;", "");
      break;
    case "ts":
    case "js":
      for (let i = g.range(1, 6); i > 0; i--) {
        lines.push(
          `import { ${g.pascal()}, ${g.camel()} } from "${
            "../".repeat(g.int(3)) || "./"
          }${g.snake()}.${lang}";`,
        );
      }
      lines.push("");
      break;
    case "py":
      lines.push(
        `"""${g.sentence()}"""`,
        "",
        "from __future__ import annotations",
        "",
        "import logging",
      );
      for (let i = g.range(1, 4); i > 0; i--) lines.push(`from .${g.snake()} import ${g.pascal()}`);
      lines.push("", "logger = logging.getLogger(__name__)", "");
      break;
    case "go":
      lines.push(`// Package ${path.split("/").at(-2) ?? "main"} ${g.sentence().toLowerCase()}`);
      lines.push(
        `package ${(path.split("/").at(-2) ?? "main").replace(/[^a-z]/g, "")}`,
        "",
        "import (",
        '\t"fmt"',
        '\t"log"',
        '\t"time"',
        ")",
        "",
      );
      break;
    case "java":
      lines.push(
        `package com.example.${mod.replaceAll("::", ".").replace(/[^a-z.]/g, "")};`,
        "",
        "import java.util.List;",
        "import java.util.Map;",
        "",
      );
      break;
    case "c":
    case "h":
      lines.push("// SPDX-License-Identifier: GPL-2.0", "/*", ` * ${g.sentence()}`, " */", "");
      for (let i = g.range(1, 6); i > 0; i--) {
        lines.push(`#include <${g.pick(["linux", "asm", "sys", "net"])}/${g.snake()}.h>`);
      }
      lines.push("");
      break;
  }
  return lines;
}

/** Source text in a programming language, about `target` bytes. */
function sourceFile(g: Gen, lang: Lang, path: string, target: number): string {
  const s = syntaxFor(lang, g);
  const out = new Out();
  for (const l of header(g, lang, path)) out.push(l);
  const className = g.pascal();
  const inClass = lang === "java";
  if (inClass) {
    out.push(`public class ${className} {`);
    out.push(
      `${s.ind}private static final Logger LOG = Logger.getLogger(${className}.class.getName());`,
      "",
    );
  }
  const base = inClass ? s.ind : "";
  while (out.size < target) {
    const r = g.rand();
    if (r < 0.1) {
      // A block of constants.
      for (let i = g.range(1, 8); i > 0; i--) out.push(constantDecl(g, lang, s));
      out.push("");
    } else if (r < 0.18 && lang !== "py") {
      // A struct / enum / interface.
      const name = g.pascal();
      const nf = g.range(2, 9);
      if (lang === "rs") {
        out.push("#[derive(Debug, Clone)]", `pub struct ${name} {`);
        for (let i = 0; i < nf; i++) out.push(`    ${g.snake()}: ${s.type()},`);
        out.push("}", "");
      } else if (lang === "ts" || lang === "js") {
        out.push(lang === "ts" ? `export interface ${name} {` : `export class ${name} {`);
        for (let i = 0; i < nf; i++) {
          out.push(
            lang === "ts"
              ? `  ${g.camel()}${g.chance(0.3) ? "?" : ""}: ${s.type()};`
              : `  ${g.camel()} = ${g.number()};`,
          );
        }
        out.push("}", "");
      } else if (lang === "go") {
        out.push(`type ${name} struct {`);
        for (let i = 0; i < nf; i++) out.push(`\t${g.pascal()} ${s.type()}`);
        out.push("}", "");
      } else if (lang === "java") {
        out.push(`${base}enum ${name} {`);
        out.push(`${base}${s.ind}${Array.from({ length: nf }, () => g.constant()).join(", ")}`);
        out.push(`${base}}`, "");
      } else {
        out.push(g.chance(0.5) ? `struct ${g.snake()} {` : "enum {");
        for (let i = 0; i < nf; i++) {
          out.push(g.chance(0.5) ? `\t${s.type()} ${g.snake()};` : `\t${g.constant()} = ${i},`);
        }
        out.push("};", "");
      }
    } else if (r < 0.24) {
      // A comment paragraph.
      for (let i = g.range(1, 5); i > 0; i--) out.push(`${base}${s.line} ${g.sentence()}`);
    } else {
      // A function.
      const name = s.ident();
      const documented = g.chance(0.7);
      if (documented && lang !== "py") docBlock(g, s, out, base, lang);
      const params = Array.from({ length: g.int(4) }, () => s.ident());
      switch (lang) {
        case "rs":
          out.push(
            `${g.chance(0.6) ? "pub " : ""}fn ${name}(${
              params.map((p) => `${p}: ${s.type()}`).join(", ")
            }) -> Result<${s.type()}, Error> {`,
          );
          break;
        case "ts":
          out.push(
            `export ${g.chance(0.3) ? "async " : ""}function ${name}(${
              params.map((p) => `${p}: ${s.type()}`).join(", ")
            }): ${s.type()} {`,
          );
          break;
        case "js":
          out.push(`${g.chance(0.5) ? "export " : ""}function ${name}(${params.join(", ")}) {`);
          break;
        case "py":
          out.push(`def ${name}(${["self", ...params].join(", ")}) -> ${s.type()}:`);
          break;
        case "go":
          out.push(
            `func (s *${className}) ${cap(name)}(${
              params.map((p) => `${p} ${s.type()}`).join(", ")
            }) (${s.type()}, error) {`,
          );
          break;
        case "java":
          out.push(
            `${base}public ${s.type()} ${name}(${
              params.map((p) => `${s.type()} ${p}`).join(", ")
            }) {`,
          );
          break;
        default:
          out.push(
            `${g.chance(0.4) ? "static " : ""}${
              g.chance(0.15) ? "inline " : ""
            }${s.type()} ${name}(${params.map((p) => `${s.type()} ${p}`).join(", ") || "void"})`,
            "{",
          );
      }
      if (documented && lang === "py") docBlock(g, s, out, base + s.ind, lang);
      body(g, s, out, base + s.ind);
      if (lang !== "py") out.push(base + "}");
      out.push("");
    }
  }
  if (inClass) out.push("}");
  return out.text();
}

function markdownFile(g: Gen, target: number): string {
  const out = new Out();
  out.push(`# ${cap(g.pick(NOUNS))} ${g.pick(NOUNS)}`, "");
  while (out.size < target) {
    const r = g.rand();
    if (r < 0.15) out.push(`## ${cap(g.pick(VERBS))} the ${g.pick(NOUNS)}`, "");
    else if (r < 0.25) {
      out.push(
        "```sh",
        `${g.pick(["cargo run --", "deno task", "make", "./run.sh"])} ${g.snake()} --${
          g.pick(NOUNS)
        } ${g.number()}`,
        "```",
        "",
      );
    } else if (r < 0.35) {
      for (let i = g.range(2, 5); i > 0; i--) out.push(`- ${g.sentence()}`);
      out.push("");
    } else {
      const n = g.range(2, 6);
      const para: string[] = [];
      for (let i = 0; i < n; i++) para.push(g.sentence());
      // Wrap at about 80 columns.
      let line = "";
      for (const w of para.join(" ").split(" ")) {
        if (line.length + w.length > 79) {
          out.push(line);
          line = w;
        } else line = line ? `${line} ${w}` : w;
      }
      if (line) out.push(line);
      out.push("");
    }
  }
  return out.text();
}

function jsonFile(g: Gen, target: number): string {
  const out = new Out();
  out.push("{");
  let first = true;
  while (out.size < target) {
    if (!first) out.lines[out.lines.length - 1] += ",";
    first = false;
    const v = g.chance(0.5) ? g.number() : JSON.stringify(g.message());
    out.push(`  ${JSON.stringify(g.camel())}: ${v}`);
  }
  out.push("}");
  return out.text();
}

function yamlFile(g: Gen, target: number): string {
  const out = new Out();
  while (out.size < target) {
    out.push(`${g.snake()}:`);
    for (let i = g.range(1, 6); i > 0; i--) {
      out.push(`  ${g.snake()}: ${g.chance(0.5) ? g.number() : g.message().replaceAll(":", " -")}`);
    }
    if (g.chance(0.2)) out.push(`# ${g.sentence()}`);
  }
  return out.text();
}

function fileText(g: Gen, lang: Lang, path: string, target: number): string {
  if (lang === "md") return markdownFile(g, target);
  if (lang === "json") return jsonFile(g, target);
  if (lang === "yaml") return yamlFile(g, target);
  return sourceFile(g, lang, path, target);
}

// ---------------------------------------------------------------- the tree

const TOP_DIRS = [
  "src",
  "lib",
  "pkg",
  "crates",
  "services",
  "tools",
  "internal",
  "drivers",
  "web",
  "tests",
  "docs",
];
const EXT: Record<Lang, string> = {
  rs: "rs",
  ts: "ts",
  js: "js",
  py: "py",
  go: "go",
  c: "c",
  h: "h",
  java: "java",
  md: "md",
  json: "json",
  yaml: "yml",
};

interface Dir {
  path: string;
  depth: number;
  lang: Lang;
  names: Set<string>;
}

/** Log-uniform file size in [2 KB, 100 KB]: many small files, some big. */
function fileSize(g: Gen): number {
  return Math.round(Math.exp(Math.log(2_000) + g.rand() * (Math.log(100_000) - Math.log(2_000))));
}

/**
 * Writes a deterministic, code-like tree of about `bytes` bytes into `dir`
 * (created if missing; existing files with the same names are overwritten).
 * About 3% of the bytes go to ignored files (`build/`, `*.log`) and a few KB
 * to binary and hidden files, so the searchable part is a little smaller.
 * @param dir Directory to write into.
 * @param bytes Total bytes to write (approximate: the last file may overshoot).
 * @param seed PRNG seed; the same `(bytes, seed)` gives the same tree.
 * @returns Files and bytes written.
 */
export async function generateCorpus(
  dir: string,
  bytes: number,
  seed = 1,
): Promise<{ files: number; bytes: number }> {
  if (!Number.isFinite(bytes) || bytes <= 0) {
    throw new RangeError(`Corpus size must be positive, got ${bytes}`);
  }
  const g = new Gen(mulberry32(seed));
  const enc = new TextEncoder();
  let files = 0;
  let written = 0;
  const write = async (rel: string, data: string | Uint8Array) => {
    const b = typeof data === "string" ? enc.encode(data) : data;
    const abs = join(dir, rel);
    await Deno.mkdir(join(abs, ".."), { recursive: true });
    await Deno.writeFile(abs, b);
    files++;
    written += b.length;
  };

  await Deno.mkdir(dir, { recursive: true });
  // A git repository, as far as rg is concerned (it only needs `.git` to
  // exist before it honours .gitignore).
  await write(".git/HEAD", "ref: refs/heads/main\n");
  await write(".gitignore", "# Generated output\n/build/\n*.log\n*.min.js\nnode_modules/\n");
  await write(".github/workflows/ci.yml", yamlFile(g, 600)); // hidden: not searched
  await write("README.md", markdownFile(g, 3_000));

  // Binary files: rg stops at the NUL and prints nothing for them.
  for (let i = 0; i < 2; i++) {
    const b = new Uint8Array(4_000 + g.int(8_000));
    for (let j = 0; j < b.length; j++) b[j] = g.int(256);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    await write(`assets/${g.snake()}_${i}.png`, b);
  }

  const ignoredBudget = Math.max(2_000, Math.round(bytes * 0.03));
  const mainBudget = bytes - ignoredBudget;

  const dirs: Dir[] = [];
  const newDir = (path: string, depth: number, lang: Lang): Dir => {
    const d = { path, depth, lang, names: new Set<string>() };
    dirs.push(d);
    return d;
  };
  for (const top of TOP_DIRS) {
    const lang: Lang = top === "docs"
      ? "md"
      : g.weighted(LANG_WEIGHTS.filter(([l]) => l !== "md" && l !== "json" && l !== "yaml"));
    newDir(top, 1, lang);
  }

  const fileIn = (d: Dir): [string, Lang] => {
    const lang: Lang = d.lang === "md"
      ? "md"
      : g.chance(0.88)
      ? (d.lang === "c" && g.chance(0.25) ? "h" : d.lang)
      : g.weighted(LANG_WEIGHTS);
    let name: string;
    do {
      const base = lang === "go" || lang === "rs" || lang === "py" || lang === "c" || lang === "h"
        ? g.snake()
        : lang === "java"
        ? g.pascal()
        : g.camel();
      name = `${base}.${EXT[lang]}`;
    } while (d.names.has(name));
    d.names.add(name);
    return [name, lang];
  };

  while (written < bytes - ignoredBudget) {
    // Pick a directory, favouring recent ones (files cluster), sometimes
    // making a new subdirectory.
    let d = g.chance(0.6) ? dirs[dirs.length - 1 - g.int(Math.min(dirs.length, 6))] : g.pick(dirs);
    if (d.names.size >= 4 && g.chance(0.18) && d.depth < 6) {
      let sub: string;
      do sub = g.chance(0.5) ? g.pick(NOUNS) : g.snake(); while (d.names.has(sub));
      d.names.add(sub);
      d = newDir(
        `${d.path}/${sub}`,
        d.depth + 1,
        g.chance(0.9) ? d.lang : g.weighted(LANG_WEIGHTS),
      );
    }
    const [name, lang] = fileIn(d);
    const path = `${d.path}/${name}`;
    await write(path, fileText(g, lang, path, Math.min(fileSize(g), mainBudget)));
  }

  // Ignored: a generated build directory and some logs (with matches in them).
  const ignoredStart = written;
  while (written - ignoredStart < ignoredBudget) {
    const r = g.rand();
    if (r < 0.6) {
      await write(
        `build/${g.pick(["debug", "release"])}/gen/${g.snake()}.rs`,
        sourceFile(g, "rs", "build/gen.rs", 2_000 + g.int(20_000)),
      );
    } else if (r < 0.8) {
      await write(
        `web/dist/${g.camel()}.min.js`,
        sourceFile(g, "js", "web/dist.js", 2_000 + g.int(10_000)).replaceAll("\n  ", " "),
      );
    } else {await write(
        `${g.pick(TOP_DIRS)}/${g.snake()}.log`,
        Array.from(
          { length: 40 + g.int(200) },
          () => `[${g.pick(["INFO", "WARN", "ERROR"])}] ${g.message()}`,
        ).join("\n") + "\n",
      );}
  }
  return { files, bytes: written };
}

/** One search an agent would send: rg flags (besides `-n`) and a pattern. */
export interface Query {
  /** What the pattern exercises, for tables. */
  label: string;
  flags: string[];
  pattern: string;
}

function withIgnoreCase(base: Query[]): Query[] {
  // Agents send `-i` most of the time, so every pattern is run both ways.
  return base.flatMap((
    q,
  ) => [q, { label: `${q.label}, -i`, flags: ["-i", ...q.flags], pattern: q.pattern }]);
}

/**
 * The benchmark searches: a literal, a `-w` word, an alternation of
 * literals, a regex with an inner literal, one with no leading literal (plus,
 * for trees, a literal-led regex), each with and
 * without `-i`. `generated` fits {@link generateCorpus} trees (`get_buffer` is
 * a common identifier there); `tree` fits the Linux source and other C trees.
 */
export const QUERIES: { generated: Query[]; tree: Query[] } = {
  generated: withIgnoreCase([
    { label: "literal", flags: [], pattern: "get_buffer" },
    { label: "word", flags: ["-w"], pattern: "timeout" },
    { label: "alternation", flags: [], pattern: "Sherlock|Holmes" },
    { label: "inner literal", flags: [], pattern: "\\w+_MAX_\\w+ =" },
    { label: "no leading literal", flags: [], pattern: "[A-Z]+_SUSPEND" },
  ]),
  tree: withIgnoreCase([
    { label: "literal", flags: [], pattern: "static inline" },
    { label: "word", flags: ["-w"], pattern: "kmalloc" },
    { label: "alternation", flags: [], pattern: "Sherlock|Holmes" },
    { label: "literal-led regex", flags: [], pattern: "ERR_PTR\\(-E[A-Z]+\\)" },
    { label: "inner literal", flags: [], pattern: "\\w+_MAX_\\w+ =" },
    { label: "no leading literal", flags: [], pattern: "[A-Z]+_SUSPEND" },
  ]),
};

/** `${CURSERVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/curserve}` */
export function cacheDir(): string {
  const explicit = Deno.env.get("CURSERVE_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(xdg, "curserve");
}

/**
 * The generated corpus of `mb` megabytes (10^6 bytes) for `seed`, from the
 * cache folder, generating it first when missing or made by an older
 * generator.
 * @returns The corpus directory.
 */
export async function cachedCorpus(mb: number, seed = 1): Promise<string> {
  const dir = join(cacheDir(), `gen-${mb}mb-${seed}`);
  const marker = join(dir, MARKER);
  const stamp = `curserve corpus generator v${GENERATOR_VERSION} bytes=${
    mb * 1_000_000
  } seed=${seed}\n`;
  try {
    if (Deno.readTextFileSync(marker) === stamp) return dir;
  } catch { /* missing: generate */ }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const partial = `${dir}.partial-${Deno.pid}`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  const r = await generateCorpus(partial, mb * 1_000_000, seed);
  // Hidden, so neither rg nor curserve searches it.
  await Deno.writeTextFile(join(partial, MARKER), stamp);
  try {
    await Deno.rename(partial, dir);
  } catch (err) {
    // Another process may have finished the same corpus first.
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    if (Deno.readTextFileSync(marker) !== stamp) throw err;
    return dir;
  }
  console.error(
    `generated ${dir}: ${r.files} files, ${r.bytes} bytes in ${
      Math.round(performance.now() - t0)
    } ms`,
  );
  return dir;
}

if (import.meta.main) {
  const [dir, mbText, seedText] = Deno.args;
  const mb = Number(mbText);
  const seed = seedText === undefined ? 1 : Number(seedText);
  if (!dir || !Number.isFinite(mb) || mb <= 0 || !Number.isInteger(seed)) {
    console.error("usage: deno run -A bench/corpus.ts <dir> <MB> [seed]");
    Deno.exit(2);
  }
  const t0 = performance.now();
  const r = await generateCorpus(dir, mb * 1_000_000, seed);
  console.log(
    `${dir}: ${r.files} files, ${r.bytes} bytes (${Math.round(performance.now() - t0)} ms)`,
  );
}
