#!/usr/bin/env bash
# graphnn as an outside project gets it, two ways:
#   1. installed (meson install --destdir), found by pkg-config, compiled with g++;
#   2. as a Meson subproject: tests/install/consumer with this checkout as subprojects/graphnn.
# Both build tests/install/consumer/prog.cpp, which checks a value and a gradient.
# Usage: tests/install/check.sh [BUILD_DIR]   (a configured build dir; default: build)
# Exits non-zero when either way fails; work files live in a temporary directory.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/graphnn-install-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=0
# Runs "$@" with its output in a log, shown only when it fails.
step() {
  local name=$1
  shift
  if "$@" >"$work/log" 2>&1; then
    echo "install check: $name: ok"
  else
    echo "install check: $name: FAILED ($*)"
    tail -n 60 "$work/log"
    return 1
  fi
}

pkgconfig_way() {
  local dest=$work/dest
  step "meson install --destdir" meson install -C "$build" --destdir "$dest" --quiet || return 1
  local pc
  pc=$(find "$dest" -name graphnn.pc -path '*/pkgconfig/*' | head -n 1)
  [[ -n $pc ]] || { echo "install check: no graphnn.pc was installed"; return 1; }
  # The .pc names the configured prefix (say /usr/local); under --destdir the
  # files sit below $dest, so pkg-config is told the prefix moved.
  local prefix
  prefix=$(sed -n 's/^prefix=//p' "$pc")
  local pkg=(env PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$dest$prefix")
  local includedir libdir
  includedir=$("${pkg[@]}" --variable=includedir graphnn)
  libdir=$("${pkg[@]}" --variable=libdir graphnn)
  if [[ ! -f $includedir/graphnn/graphnn.hpp ]]; then
    echo "install check: $includedir/graphnn/graphnn.hpp missing"
    return 1
  fi
  # The library brings its own BLAS: users link -lgraphnn only.
  if ! readelf -d "$libdir/libgraphnn.so" | grep -q 'NEEDED.*blas'; then
    echo "install check: $libdir/libgraphnn.so does not link a BLAS library"
    return 1
  fi
  local flags
  flags=$("${pkg[@]}" --cflags --libs graphnn)
  # Built with MPI (data-parallel training): graphnn.pc must bring OpenMPI's flags too.
  if grep -q GRAPHNN_HAVE_MPI "$pc" && ! "${pkg[@]}" --print-requires graphnn | grep -q '^ompi'; then
    echo "install check: graphnn.pc defines GRAPHNN_HAVE_MPI but does not require OpenMPI (ompi-cxx)"
    return 1
  fi
  # shellcheck disable=SC2086  # pkg-config output is a list of flags
  step "g++ prog.cpp \$(pkg-config --cflags --libs graphnn)" \
    g++ -std=c++17 "$repo/tests/install/consumer/prog.cpp" $flags -Wl,-rpath,"$libdir" -o "$work/prog" || return 1
  step "run the pkg-config build" "$work/prog"
}

subproject_way() {
  local src=$work/consumer
  mkdir -p "$src/subprojects"
  cp "$repo/tests/install/consumer/meson.build" "$repo/tests/install/consumer/prog.cpp" "$src/"
  ln -s "$repo" "$src/subprojects/graphnn"
  # --force-fallback-for: use the checkout even where a graphnn is installed system-wide.
  step "meson setup (graphnn as subproject)" meson setup "$src/build" "$src" --force-fallback-for=graphnn || return 1
  step "meson compile (graphnn as subproject)" meson compile -C "$src/build" || return 1
  step "run the subproject build" "$src/build/prog"
}

pkgconfig_way || failures=$((failures + 1))
subproject_way || failures=$((failures + 1))
if ((failures)); then
  echo "install check: FAILED"
  exit 1
fi
echo "install check: passed"
