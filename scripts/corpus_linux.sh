#!/usr/bin/env bash
# Unpack the Linux 6.1 source tree (Debian's linux-source-6.1) as a benchmark
# corpus, outside the repository:
#
#   ${CURSERVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/curserve}/linux-6.1
#
#   deno task corpus:linux          unpack (once) and print the path
#   bash scripts/corpus_linux.sh --force   unpack again even if already done
#
# Installs linux-source-6.1 with apt-get when /usr/src/linux-source-6.1.tar.xz
# is missing (root, or sudo). Idempotent: a marker file next to the tree,
# written only after a complete unpack, records which package version it came
# from; the unpack is skipped while the marker matches. The tree is about
# 1.3 GB in about 78,600 files.
set -euo pipefail

die() { printf 'corpus_linux.sh: %s\n' "$*" >&2; exit 1; }

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (expected --force or nothing)" ;;
esac

pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz
cache=${CURSERVE_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/curserve}
tree=$cache/linux-6.1
marker=$cache/.linux-6.1.unpacked

if [[ ! -f $tarball ]]; then
  sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  echo "$tarball is missing; installing the Debian package $pkg" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q </dev/null
  $sudo apt-get install -y -q "$pkg" </dev/null
  [[ -f $tarball ]] || die "$pkg is installed but $tarball is still missing"
fi

# What the tree is made from: the package version, or else the tarball's size.
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
stamp="$pkg ${version:-unknown} $(stat -c %s "$tarball")"

if ((force == 0)) && [[ -d $tree && -f $marker && $(<"$marker") == "$stamp" ]]; then
  echo "Already unpacked ($stamp)." >&2
else
  mkdir -p "$cache"
  rm -f "$marker"
  tmp=$(mktemp -d "$cache/.linux-6.1.partial.XXXXXX")
  chmod u=rwx,go=rx "$tmp"  # mktemp makes it 0700
  trap 'rm -rf "$tmp"' EXIT
  echo "Unpacking $tarball into $tree (about 1.3 GB; a minute or two) ..." >&2
  # The tarball's single top-level folder is linux-source-6.1/.
  tar -xJf "$tarball" -C "$tmp" --strip-components=1 --no-same-owner
  [[ -f $tmp/Makefile && -d $tmp/kernel ]] || die "$tarball did not unpack to a kernel tree"
  rm -rf "$tree"
  mv "$tmp" "$tree"
  trap - EXIT
  printf '%s\n' "$stamp" >"$marker"
fi

files=$(find "$tree" -type f | wc -l)
size=$(du -sh "$tree" | cut -f1)
cat <<EOF
$tree
($files files, $size on disk)

Benchmark against it with:
  CURSERVE_BENCH_TREE=$tree deno bench --allow-all bench/
  deno run -A bench/compare.ts --tree $tree
EOF
