/**
 * Workspace confinement for the agent's tools: every path a model names is
 * resolved against the workspace root and refused when it (or a symbolic
 * link along it) leads outside.
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { confine } from "../files.ts";

/** A failure the model should read as the tool's answer (the loop goes on). */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/** A path inside the workspace, absolute and as shown to the model. */
export interface WorkspacePath {
  /** Absolute path (symbolic links not resolved: they were checked). */
  abs: string;
  /** Relative to the root ("." for the root itself). */
  rel: string;
}

/** Resolves model-given paths inside one workspace root. */
export class WorkspacePaths {
  /**
   * @param root The workspace's real path (symbolic links resolved), so that
   *   resolved paths can be compared with it as strings.
   */
  constructor(readonly root: string) {}

  /**
   * Resolves `path` (absolute, or relative to the root) and checks that it
   * stays inside the workspace, following symbolic links (the daemon's own
   * rule, so both sides refuse the same paths).
   * @throws {ToolError} When the path is empty or resolves outside.
   */
  resolve(path: string): WorkspacePath {
    if (typeof path !== "string" || path === "") throw new ToolError("the path is empty");
    let abs: string;
    try {
      abs = confine(this.root, path);
    } catch {
      throw new ToolError(
        `refused: ${path} resolves outside the workspace ${this.root}; ` +
          `use paths inside it (absolute, or relative to it)`,
      );
    }
    return { abs, rel: this.display(abs) };
  }

  /** `abs` relative to the root, for messages ("." for the root). */
  display(abs: string): string {
    const rel = isAbsolute(abs) ? relative(this.root, abs) : abs;
    return rel === "" ? "." : rel;
  }
}
