//! Bakes in what the native shim must agree on with the Deno one: the
//! curserve version (src/request.ts, for `--version`), the path of the Deno
//! shim it falls back to (shim/rg.ts of this checkout) and, when the
//! installer names it, the deno binary to run that with.
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let request = dir.join("../../src/request.ts");
    println!("cargo:rerun-if-changed={}", request.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CURSERVE_DENO");
    let text =
        std::fs::read_to_string(&request).unwrap_or_else(|e| panic!("{}: {e}", request.display()));
    let version = text
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("export const VERSION = \"")?;
            Some(rest[..rest.find('"')?].to_string())
        })
        .unwrap_or_else(|| panic!("{}: no `export const VERSION = \"...\"`", request.display()));
    println!("cargo:rustc-env=CURSERVE_VERSION={version}");
    let shim = dir.join("../rg.ts");
    let shim = shim
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", shim.display()));
    println!("cargo:rustc-env=CURSERVE_SHIM_TS={}", shim.display());
    if let Ok(deno) = std::env::var("CURSERVE_DENO") {
        if !deno.is_empty() {
            println!("cargo:rustc-env=CURSERVE_BAKED_DENO={deno}");
        }
    }
}
