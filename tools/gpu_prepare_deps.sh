#!/usr/bin/env bash
# Download, without installing, the Debian 12 packages that lsi-cuda needs to build and run on a
# GPU machine that has CUDA, CMake, ninja and a C++ compiler but no internet (the device machine),
# into .gpu-deps/ at the repository root. tools/gpu_check.sh unpacks them there.
#
# Run it on Debian 12 (bookworm, amd64) with apt reachable, as any user that can run apt-get
# download. It then unpacks the files into an empty folder and checks that every shared library
# in them finds the libraries it needs there or among the base libraries that any machine with
# g++ has (glibc, libgcc_s, libstdc++, libgomp). At the end it prints the size of .gpu-deps and of
# everything that travels to the device machine, which must stay under 64 MiB.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps_dir="$repo_root/.gpu-deps"
travel_limit_bytes=$((64 * 1024 * 1024))

# Build time: headers, CMake package files and .pc files. Eigen, doctest, CLI11 and nlohmann-json
# are header-only. liblapacke-dev is here for lapack.h alone. pkgconf is a pkg-config for images
# without one. libcairo2-dev's own dependencies (the -dev packages of glib, X11, freetype and
# others, 6.6 MB) are left out. They serve only cairo.pc's Requires.private line, which
# tools/gpu_check.sh deletes from the unpacked cairo.pc, because cairo.h includes none of their
# headers and the link needs only libcairo.so.
build_packages=(
  libeigen3-dev doctest-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libssl-dev libcairo2-dev liblapacke-dev
  pkgconf-bin libpkgconf3
)
# Run time: the shared libraries that lsi-cuda loads and all that they load in turn, except the
# base libraries. OpenBLAS comes without its -dev package (58 MB of static archive, 5 MB as .deb):
# tools/gpu_check.sh links to libopenblas.so.0 through a link that it makes itself.
runtime_packages=(
  zlib1g libssl3
  libopenblas0-pthread libgfortran5 libquadmath0
  libcairo2 libfontconfig1 libfreetype6 libpixman-1-0 libpng16-16 libbrotli1 libexpat1
  libx11-6 libxcb1 libxcb-render0 libxcb-shm0 libxext6 libxrender1 libxau6 libxdmcp6 libbsd0
  libmd0
)
# Libraries that the check below expects the device machine to have: glibc, and GCC's run-time
# libraries, which come with the g++ that nvcc needs as its host compiler.
base_libraries=(
  ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1
  libgcc_s.so.1 libstdc++.so.6 libgomp.so.1
)

if [[ "$(dpkg --print-architecture 2>/dev/null)" != "amd64" ]]; then
  echo "error: run this on Debian 12 amd64 (the device machine is x86-64)" >&2
  exit 1
fi
if ! grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
  echo "warning: this is not Debian 12 (bookworm); the packages will be this release's" >&2
fi

# Download into a fresh folder, so that no older version of a package stays beside a newer one.
mkdir -p "$deps_dir"
rm -f "$deps_dir"/*.deb
echo "downloading ${#build_packages[@]} build and ${#runtime_packages[@]} run-time packages"
if ! (cd "$deps_dir" && apt-get download -q "${build_packages[@]}" "${runtime_packages[@]}"); then
  echo "error: apt-get download failed; run 'apt-get update' (as root) and try again" >&2
  exit 1
fi

# Git ignores the folder, and the device tool carries it when a call names it in 'carry'.
exclude_file=$(git -C "$repo_root" rev-parse --git-path info/exclude)
[[ "$exclude_file" = /* ]] || exclude_file="$repo_root/$exclude_file"
if ! grep -qxF '/.gpu-deps/' "$exclude_file" 2>/dev/null; then
  echo '/.gpu-deps/' >>"$exclude_file"
  echo "added /.gpu-deps/ to $exclude_file"
fi

# Unpack into an empty folder and check the closure: every NEEDED entry of every shared library
# must name a file in the folder or a base library.
check_root=$(mktemp -d)
trap 'rm -rf "$check_root"' EXIT
for deb in "$deps_dir"/*.deb; do
  dpkg-deb -x "$deb" "$check_root"
done
declare -A present=()
for name in "${base_libraries[@]}"; do
  present[$name]=base
done
while IFS= read -r path; do
  present[$(basename "$path")]=shipped
done < <(find "$check_root" \( -type f -o -type l \) -name '*.so*')
n_missing=0
n_elf=0
glibc_max=""
while IFS= read -r library; do
  readelf -h "$library" >/dev/null 2>&1 || continue
  n_elf=$((n_elf + 1))
  for needed in $(readelf -d "$library" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    if [[ -z "${present[$needed]:-}" ]]; then
      echo "missing: ${library#"$check_root"/} needs $needed" >&2
      n_missing=$((n_missing + 1))
    fi
  done
  glibc_max=$(printf '%s\n' "$glibc_max" \
    $(objdump -T "$library" | grep -o 'GLIBC_[0-9.]*' | sort -u) | sort -V | tail -n 1)
done < <(find "$check_root" -type f \( -name '*.so*' -o -path '*/bin/*' \))
if ((n_missing > 0)); then
  echo "error: $n_missing needed libraries are neither shipped nor base libraries;" \
       "add their packages to runtime_packages" >&2
  exit 1
fi
echo "closure: $n_elf ELF files, every needed library is shipped or a base library"
echo "newest glibc symbol version needed: ${glibc_max:-none} (the device image must have it)"

# Sizes: the folder itself, and everything that a call with carry [".gpu-deps"] sends.
deps_bytes=$(du -sb "$deps_dir" | cut -f 1)
tree_bytes=$(cd "$repo_root" &&
  git ls-files -z --cached --others --exclude-standard |
  xargs -0 -r stat -c %s -- 2>/dev/null | awk '{ sum += $1 } END { print sum + 0 }')
total_bytes=$((deps_bytes + tree_bytes))
echo "$(ls "$deps_dir"/*.deb | wc -l) packages in $deps_dir"
awk -v deps="$deps_bytes" -v tree="$tree_bytes" 'BEGIN {
  printf ".gpu-deps: %.1f MiB; working tree without it: %.1f MiB; together: %.1f MiB of 64 MiB\n",
    deps / 1048576, tree / 1048576, (deps + tree) / 1048576 }'
if ((total_bytes > travel_limit_bytes)); then
  echo "error: the tree that travels is over the device tool's 64 MiB limit" >&2
  exit 1
fi
