#!/usr/bin/env bash
# Install or remove curserve's `rg` shim.
#
#   bash scripts/install_shim.sh            write ~/.local/bin/rg (or $CURSERVE_SHIM_DIR/rg)
#   bash scripts/install_shim.sh --remove   remove it again (only if it is curserve's shim)
#
# The shim runs shim/rg.ts from this checkout with Deno: it answers through
# a running daemon ($CURSERVE_SOCKET, else your own daemon, else /run/curserve/curserve.sock) or, with
# none, in its own process; flags only ripgrep has run the real rg, found
# later on PATH. Put the directory first on PATH for agents to use it.
set -euo pipefail

die() { printf 'install_shim.sh: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=${CURSERVE_SHIM_DIR:-$HOME/.local/bin}
target=$dir/rg
marker=curserve-rg-shim

case "${1:-}" in
  --remove)
    if [ ! -e "$target" ]; then echo "no shim at $target"; exit 0; fi
    grep -q "$marker" "$target" || die "$target is not curserve's shim; left alone"
    rm -f "$target"
    echo "removed $target"
    exit 0
    ;;
  "") ;;
  *) die "unknown argument '$1' (expected --remove or nothing)" ;;
esac

deno=$(command -v deno) || die "deno is not on PATH"
if [ -e "$target" ] && ! grep -q "$marker" "$target"; then
  die "$target exists and is not curserve's shim; move it away first"
fi
mkdir -p "$dir"
cat > "$target" <<SHIM
#!/bin/sh
# $marker: installed from $repo by \`deno task install\`; \`deno task uninstall\` removes it.
exec "$deno" run --quiet --no-prompt --allow-read --allow-write --allow-env --allow-net --allow-run --allow-sys "$repo/shim/rg.ts" "\$@"
SHIM
chmod 755 "$target"
echo "wrote $target"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH; add it first, e.g. export PATH=\"$dir:\$PATH\"" ;;
esac
