#!/usr/bin/env bash
# Install or remove curserve's `rg` shim.
#
#   bash scripts/install_shim.sh            write ~/.local/bin/rg (or $CURSERVE_SHIM_DIR/rg)
#   bash scripts/install_shim.sh --native   the native shim, or fail (needs cargo)
#   bash scripts/install_shim.sh --deno     the Deno script, even with cargo at hand
#   bash scripts/install_shim.sh --remove   remove it again (only if it is curserve's shim)
#
# With cargo (on PATH or in ~/.cargo/bin) the shim is the native client
# built from shim/native (Rust; `cargo build --release --locked`, offline
# once its crates are in cargo's cache): it starts in about a millisecond.
# Without, it is a script running shim/rg.ts from this checkout with Deno
# (35-50 ms a call). Either answers through a running daemon
# ($CURSERVE_SOCKET, else your own daemon, else /run/curserve/curserve.sock)
# or, with none, runs the real rg found later on PATH (with no rg, the Deno
# shim answers in its own process); flags only ripgrep has run the real rg.
# Put the directory first on PATH for agents to use it.
set -euo pipefail

die() { printf 'install_shim.sh: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=${CURSERVE_SHIM_DIR:-$HOME/.local/bin}
target=$dir/rg
marker=curserve-rg-shim
kind=auto

case "${1:-}" in
  --remove)
    if [ ! -e "$target" ]; then echo "no shim at $target"; exit 0; fi
    grep -q "$marker" "$target" || die "$target is not curserve's shim; left alone"
    rm -f "$target"
    echo "removed $target"
    exit 0
    ;;
  --native) kind=native ;;
  --deno) kind=deno ;;
  "") ;;
  *) die "unknown argument '$1' (expected --remove, --native, --deno or nothing)" ;;
esac

if [ -e "$target" ] && ! grep -q "$marker" "$target"; then
  die "$target exists and is not curserve's shim; move it away first"
fi
deno=$(command -v deno || true)
mkdir -p "$dir"
# The line that marks either shim: the script's second line, the binary's last.
mark="# $marker: installed from $repo by \`deno task install\`; \`deno task uninstall\` removes it."

# The native shim: built here, then copied with the marker line appended
# (an ELF file runs the same with bytes after its end; src/fallback.ts
# looks for the marker in a file's last 512 bytes), replacing the old one
# in one rename.
install_native() {
  local cargo manifest=$repo/shim/native/Cargo.toml
  cargo=$(command -v cargo || true)
  [ -n "$cargo" ] || [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ] ||
    cargo=${CARGO_HOME:-$HOME/.cargo}/bin/cargo
  if [ -z "$cargo" ]; then
    echo "install_shim.sh: no cargo: the native shim cannot be built" >&2
    return 1
  fi
  # The Deno shim is the native one's last resort (no rg on PATH): its deno is baked in.
  CURSERVE_DENO=$deno "$cargo" build --release --locked --manifest-path "$manifest" ||
    { echo "install_shim.sh: cargo could not build shim/native" >&2; return 1; }
  local built
  built=$(dirname "$manifest")/target/release/curserve-rg
  [ -x "$built" ] || { echo "install_shim.sh: $built was not built" >&2; return 1; }
  local tmp=$target.tmp.$$
  cp "$built" "$tmp"
  printf '\n%s\n' "$mark" >>"$tmp"
  chmod 755 "$tmp"
  mv -f "$tmp" "$target"
  echo "wrote $target (native, from shim/native)"
}

install_deno() {
  [ -n "$deno" ] || die "deno is not on PATH"
  local tmp=$target.tmp.$$
  cat >"$tmp" <<SHIM
#!/bin/sh
$mark
exec "$deno" run --quiet --no-prompt --allow-read --allow-write --allow-env --allow-net --allow-run --allow-sys "$repo/shim/rg.ts" "\$@"
SHIM
  chmod 755 "$tmp"
  mv -f "$tmp" "$target"
  echo "wrote $target (Deno script running shim/rg.ts)"
}

case $kind in
  native) install_native || die "the native shim was not installed" ;;
  deno) install_deno ;;
  auto)
    if ! install_native; then
      echo "install_shim.sh: installing the Deno shim instead" >&2
      install_deno
    fi
    ;;
esac
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH; add it first, e.g. export PATH=\"$dir:\$PATH\"" ;;
esac
