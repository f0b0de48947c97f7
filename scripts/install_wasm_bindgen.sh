#!/usr/bin/env bash
# Installs wasm-bindgen-cli at exactly the wasm-bindgen version pinned in
# core-wasm/Cargo.lock, built by Debian's cargo, with the CLI's own lockfile
# (so every machine gets the same walrus etc. and hence byte-identical glue).
#
#   bash scripts/install_wasm_bindgen.sh     no-op when the right version is on PATH
#
# A registry mirror may lack a version the CLI's lockfile names (seen here:
# webpki-roots 1.0.11, which only its download helper uses). Then the
# lockfile is kept and just the packages cargo names as missing are moved to
# the newest version the registry has, one at a time.
set -euo pipefail

die() { printf 'install_wasm_bindgen.sh: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' \
  "$repo/core-wasm/Cargo.lock")
[[ -n $version ]] || die "no wasm-bindgen in core-wasm/Cargo.lock"
export PATH=/usr/bin:$PATH:${CARGO_HOME:-$HOME/.cargo}/bin # Debian's cargo first

if [[ $(wasm-bindgen --version 2>/dev/null) == "wasm-bindgen $version" ]]; then
  echo "wasm-bindgen $version already installed"
  exit 0
fi

if cargo install --locked wasm-bindgen-cli --version "=$version" 2>&1 | tee /tmp/wbcli.$$.log; then
  rm -f /tmp/wbcli.$$.log
  exit 0
fi
grep -q 'failed to select a version for the requirement' /tmp/wbcli.$$.log ||
  die "cargo install failed (see above)"
rm -f /tmp/wbcli.$$.log

echo "install_wasm_bindgen.sh: the CLI's lockfile names versions this registry lacks; adjusting only those"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The crate's sources, with its Cargo.lock, from the registry.
(cd "$work" && cargo new --quiet fetch && cd fetch &&
  cargo add --quiet "wasm-bindgen-cli@=$version" && cargo fetch --quiet) ||
  die "could not fetch wasm-bindgen-cli $version"
src=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d \
  -name "wasm-bindgen-cli-$version" | head -n1)
[[ -n $src ]] || die "wasm-bindgen-cli $version sources not found after fetching"
cp -r "$src" "$work/cli"
cd "$work/cli"
for _ in 1 2 3 4 5 6 7 8; do
  if out=$(cargo metadata --locked --format-version 1 2>&1 >/dev/null); then
    exec cargo install --locked --path . --root "${CARGO_HOME:-$HOME/.cargo}"
  fi
  pkg=$(sed -n 's/.*failed to select a version for the requirement `\([^ ]*\) = .*/\1/p' <<<"$out" | head -n1)
  [[ -n $pkg ]] || { echo "$out" >&2; die "cargo cannot resolve the CLI's lockfile"; }
  echo "  $pkg: moving to the newest version the registry has"
  cargo update --quiet -p "$pkg"
done
die "too many packages missing from the registry"
