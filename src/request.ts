/**
 * The search request the core understands, as sent across the WebAssembly
 * boundary (and, later, over the daemon's socket). Field names are the
 * core's, in snake_case.
 * @module
 */

/** curserve's version, printed by `--version`. */
export const VERSION = "0.1.0";

/** How results are printed, mirroring rg's output modes. */
export type OutputSpec =
  | { kind: "standard"; line_number: boolean; only_matching: boolean }
  | { kind: "count"; matches: boolean }
  | { kind: "files_with_matches" }
  | { kind: "files_without_match" }
  | { kind: "json"; line_number: boolean };

/** One place to search; `path` is absolute, `display` is how it prints. */
export interface RootSpec {
  path: string;
  display: string;
  is_file: boolean;
}

/** A complete search request. */
export interface GrepRequest {
  patterns: string[];
  fixed_strings: boolean;
  case: "sensitive" | "insensitive" | "smart";
  word: boolean;
  line_regexp: boolean;
  multiline: boolean;
  invert: boolean;
  before: number;
  after: number;
  max_count: number | null;
  output: OutputSpec;
  with_filename: boolean;
  /** Search as if output came before (a shard's share of a split search):
   * in context mode the first file then opens with a `--` separator. */
  printed_before?: boolean;
  /** Stop after the file that takes the output past this many bytes (a
   * caller that keeps only a prefix); ignored for JSON and
   * files-without-match output. */
  max_output?: number;
  /** Skip this many of the roots' files (in search order): the rest of a
   * search that paused, whose result said where (`resumeAt`). */
  resume_at?: number;
  roots: RootSpec[];
  /** Directory that globs with a slash are anchored to. */
  cwd: string;
  globs: string[];
  iglobs: string[];
  types: string[];
  types_not: string[];
  /** rg's `--regex-size-limit` in bytes (default: rg 13's effective
   * 100 MiB); a pattern over it fails with rg's "Compiled regex exceeds
   * size limit of N bytes." before any search. */
  regex_size_limit?: number;
  /** rg's `--dfa-size-limit` in bytes (default: rg 13's 1000 MiB); the
   * lazy DFA's cache takes at most 64 MiB of it. */
  dfa_size_limit?: number;
  /** The text of each `--ignore-file`, applied to the held files (a
   * workspace loaded without them). */
  ignore_files?: string[];
  /** `--type-add` definitions and `--type-clear` names. */
  type_add?: string[];
  type_clear?: string[];
  /** rg's separators and line fields; absent: its defaults. */
  style?: LineStyleSpec;
}

/** How standard and summary lines look (`--null`, `--column`, `-b`,
 * `--trim`, `--include-zero`, separators); byte strings as byte arrays. */
export interface LineStyleSpec {
  null: boolean;
  column: boolean;
  byte_offset: boolean;
  trim: boolean;
  include_zero: boolean;
  heading: boolean;
  per_match: boolean;
  max_columns?: number;
  text: boolean;
  path_separator?: number[];
  field_match?: number[];
  field_context?: number[];
  context_separator?: number[];
  no_context_separator?: boolean;
}
