#!/usr/bin/env bash
# Build lsi-cuda on a GPU machine without internet and run its GPU tests and benchmarks, with the
# Debian 12 packages that tools/gpu_prepare_deps.sh downloaded into .gpu-deps/.
#
# Usage: OUT=DIR tools/gpu_check.sh [--no-gpu-check] [--build-dir DIR] [--prefix DIR]
#                                   [--jobs N] [--budget-s SECONDS] [--time-scale N]
#
# The packages are unpacked with dpkg-deb -x into the prefix (default /tmp/lsi-deps), never into
# /, and CMake is pointed at that prefix. Every step's output goes to a log under $OUT, each step
# runs under a time limit, a failed step does not stop the next one, and $OUT/summary.txt lists
# each step's result. The whole script ends within --budget-s (default 480 s) plus about 15 s.
# $OUT receives at most 8 files, the device tool's limit: summary.txt, build.log, ctest.log,
# bench.log, bench_tf32.log, run.log, pytorch.log and run.tar.gz.
#
# Without nvcc, or without a visible GPU, it stops at once with exit status 2.
# --no-gpu-check is for a dry run on a machine without a GPU: it skips the GPU check and the GPU
# steps, and runs a short CPU smoke test of the built program instead. --time-scale multiplies
# the budget and every step's limit, for a slow machine (a dry run on 2 cores with -j 1).
set -uo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=/tmp/lsi-deps
build_dir=build
n_jobs=$(nproc)
budget_s=480
time_scale=1
check_gpu=1

while (($# > 0)); do
  case "$1" in
    --no-gpu-check) check_gpu=0 ;;
    --build-dir) build_dir=$2; shift ;;
    --prefix) prefix=$2; shift ;;
    --jobs) n_jobs=$2; shift ;;
    --budget-s) budget_s=$2; shift ;;
    --time-scale) time_scale=$2; shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$repo_root" || exit 2
[[ "$build_dir" = /* ]] || build_dir="$repo_root/$build_dir"
deadline_s=$(($(date +%s) + budget_s * time_scale))
summary_lines=()

write_summary() {
  [[ -n "${OUT:-}" && -d "$OUT" ]] || return 0
  {
    printf '%s\n' "${header_lines[@]}"
    echo
    echo "step        result                        seconds  log"
    printf '%s\n' "${summary_lines[@]}"
    echo
    printf '%s\n' "${result_lines[@]}"
  } >"$OUT/summary.txt"
}

die() {
  echo "gpu_check: error: $*" >&2
  summary_lines+=("stopped: $*")
  write_summary
  exit 2
}

header_lines=("lsi-cuda gpu_check, $(date -u '+%Y-%m-%d %H:%M UTC')")
if commit=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null); then
  n_changed=$(git -C "$repo_root" status --porcelain 2>/dev/null | grep -c .)
  header_lines=("${header_lines[0]}, commit $commit with $n_changed files changed or untracked")
else
  header_lines=("${header_lines[0]}, commit unknown (no git repository here)")
fi
result_lines=()

# Fail fast: $OUT, nvcc, the GPU, the build tools and the packages.
if [[ -z "${OUT:-}" ]]; then
  echo "gpu_check: error: OUT is not set: set it to the folder for the logs" >&2
  exit 2
fi
mkdir -p "$OUT" || { echo "gpu_check: error: cannot create OUT=$OUT" >&2; exit 2; }

if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null ||
  die "nvcc not found on PATH or in /usr/local/cuda/bin: this machine cannot build the CUDA code"

if ((check_gpu)); then
  for dir in /usr/local/nvidia/bin /usr/bin; do
    [[ -x "$dir/nvidia-smi" ]] && ! command -v nvidia-smi >/dev/null && PATH="$PATH:$dir"
  done
  if command -v nvidia-smi >/dev/null; then
    gpu_list=$(nvidia-smi -L 2>&1) || die "nvidia-smi -L failed: $gpu_list"
    grep -q '^GPU [0-9]' <<<"$gpu_list" || die "nvidia-smi lists no GPU: $gpu_list"
  elif [[ ! -e /dev/nvidia0 ]]; then
    die "no GPU: neither nvidia-smi nor /dev/nvidia0 exists (dry run: --no-gpu-check)"
  fi
fi

for tool in cmake ninja; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
cxx=${CXX:-$(command -v c++ || command -v g++)}
[[ -n "$cxx" ]] || die "no C++ compiler found: neither c++ nor g++ is on PATH"
shopt -s nullglob
debs=("$repo_root"/.gpu-deps/*.deb)
((${#debs[@]} > 0)) || die "no .deb files found in .gpu-deps/: run tools/gpu_prepare_deps.sh on" \
  "Debian 12 and give the device tool carry [\".gpu-deps\"]"

# The machine, in the summary's header.
gpu_name="not checked (--no-gpu-check)"
if ((check_gpu)); then
  gpu_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
    2>/dev/null | head -n 1)
fi
header_lines+=("gpu:    ${gpu_name:-/dev/nvidia0 exists, nvidia-smi missing}")
header_lines+=("nvcc:   $(nvcc --version | grep -o 'release [0-9.]*, V[0-9.]*')")
header_lines+=("cmake:  $(cmake --version | head -n 1); ninja $(ninja --version)")
header_lines+=("c++:    $("$cxx" --version | head -n 1)")
header_lines+=("glibc:  $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)\
 (.gpu-deps needs 2.36 for libexpat, 2.35 for libcairo)")
header_lines+=("cpus:   $(nproc), building with -j $n_jobs")
header_lines+=("python: $(python3 --version 2>&1 | head -n 1) at $(command -v python3)")
write_summary

# run_step NAME CAP_S LOG COMMAND...: run COMMAND under a limit of CAP_S seconds or the time left
# in the budget, whichever is shorter, append its output to $OUT/LOG, and record the result.
run_step() {
  local name=$1 cap_s=$(($2 * time_scale)) log=$3
  shift 3
  local left_s=$((deadline_s - $(date +%s) - 5))
  local limit_s=$((cap_s < left_s ? cap_s : left_s))
  if ((limit_s < 10)); then
    summary_lines+=("$(printf '%-11s %-29s %7s  %s' "$name" "skipped: budget spent" - "$log")")
    write_summary
    return 1
  fi

  echo "=== $name (limit ${limit_s} s): $*" | tee -a "$OUT/$log"
  local start_s rc elapsed_s result
  start_s=$(date +%s)
  # timeout runs programs only: a shell function of this script runs in a child bash, which
  # inherits it through export -f.
  if declare -F "$1" >/dev/null; then
    set -- bash -c '"$@"' bash "$@"
  fi
  timeout -k 10 "$limit_s" "$@" 2>&1 | tee -a "$OUT/$log"
  rc=${PIPESTATUS[0]}
  elapsed_s=$(($(date +%s) - start_s))
  echo "=== $name: exit status $rc after ${elapsed_s} s" | tee -a "$OUT/$log"

  case $rc in
    0) result="ok" ;;
    124 | 137) result="TIMED OUT after ${limit_s} s" ;;
    *) result="FAILED (exit status $rc)" ;;
  esac
  summary_lines+=("$(printf '%-11s %-29s %7s  %s' "$name" "$result" "$elapsed_s" "$log")")
  write_summary
  return "$rc"
}

# record_skip NAME LOG REASON: a step that could not start.
record_skip() {
  summary_lines+=("$(printf '%-11s %-29s %7s  %s' "$1" "skipped: $3" - "$2")")
  write_summary
}

libdir="$prefix/usr/lib/x86_64-linux-gnu"
# zlib1g and libexpat1 install into /lib, not /usr/lib.
root_libdir="$prefix/lib/x86_64-linux-gnu"
lsi="$build_dir/lsi-cuda"
export OUT repo_root prefix libdir build_dir lsi
export PYTHONUNBUFFERED=1

# Unpack every package into an empty prefix (dpkg-deb, or Python where dpkg is missing), then do
# what the packages' install scripts would: Debian selects OpenBLAS through update-alternatives,
# whose links dpkg-deb -x does not make.
unpack_packages() {
  rm -rf "$prefix" && mkdir -p "$prefix" || return 1
  local deb debs=("$repo_root"/.gpu-deps/*.deb)
  for deb in "${debs[@]}"; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$prefix" || return 1
    else
      python3 - "$deb" "$prefix" <<'PY' || return 1
import io, sys, tarfile
deb, prefix = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", f"{deb} is not a .deb"
offset = 8
while offset < len(data):
    name = data[offset:offset + 16].decode().strip().rstrip("/")
    size = int(data[offset + 48:offset + 58].decode().strip())
    if name.startswith("data.tar"):
        member = io.BytesIO(data[offset + 60:offset + 60 + size])
        with tarfile.open(fileobj=member, mode="r:*") as tar:
            if hasattr(tarfile, "tar_filter"):
                tar.extractall(prefix, filter="tar")
            else:
                tar.extractall(prefix)
    offset += 60 + size + (size % 2)
PY
    fi
  done
  echo "unpacked ${#debs[@]} packages into $prefix ($(du -sh "$prefix" | cut -f 1))"

  # Absolute links (zlib1g-dev's libz.so) would point into the image's own /lib: aim them at the
  # prefix.
  local link target
  while IFS= read -r link; do
    target=$(readlink "$link")
    ln -sfn "$prefix$target" "$link" || return 1
  done < <(find "$prefix" -type l -lname '/*')

  local openblas="openblas-pthread/libopenblas.so.0"
  ln -sf "$openblas" "$libdir/libopenblas.so.0" &&
    ln -sf "$openblas" "$libdir/libopenblas.so" &&
    ln -sf openblas-pthread/libblas.so.3 "$libdir/libblas.so.3" &&
    ln -sf openblas-pthread/liblapack.so.3 "$libdir/liblapack.so.3" || return 1

  # pkg-config: pkgconf from the packages, reading only the prefix's .pc files. cairo.pc loses
  # its Requires.private line, because the .pc files it names (glib, X11, freetype and others)
  # are not shipped. cairo.h includes none of their headers, and the link needs libcairo.so alone.
  sed -i '/^Requires.private:/d' "$libdir/pkgconfig/cairo.pc" || return 1
  mkdir -p "$prefix/bin" || return 1
  cat >"$prefix/bin/pkg-config" <<EOF || return 1
#!/bin/sh
LD_LIBRARY_PATH="$libdir" exec "$prefix/usr/bin/pkgconf" "\$@"
EOF
  chmod +x "$prefix/bin/pkg-config"

  # Fontconfig: an empty configuration where the image has none (cairo falls back on its own
  # built-in font for the plots' labels).
  if [[ ! -e /etc/fonts/fonts.conf ]]; then
    printf '<?xml version="1.0"?>\n<fontconfig><cachedir>%s</cachedir></fontconfig>\n' \
      "$prefix/fontconfig-cache" >"$prefix/fonts.conf"
  fi
}

# The build finds everything in the prefix first: CMake through CMAKE_PREFIX_PATH, gcc through
# CPATH and LIBRARY_PATH, pkg-config through its own .pc path and sysroot. The programs get the
# prefix's library folders as DT_RPATH (--disable-new-dtags), which, unlike DT_RUNPATH, also
# serves the libraries they load (libcairo's libpixman, OpenBLAS's libgfortran), so no
# LD_LIBRARY_PATH is needed and python3 and the CUDA tools keep the image's own libraries.
export CMAKE_PREFIX_PATH="$prefix/usr"
export CPATH="$prefix/usr/include:$prefix/usr/include/x86_64-linux-gnu"
export LIBRARY_PATH="$libdir:$root_libdir"
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig:$prefix/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
unset PKG_CONFIG_PATH
[[ -e /etc/fonts/fonts.conf ]] || export FONTCONFIG_FILE="$prefix/fonts.conf"
# CMake 4 rejects policy versions below 3.5. Debian 12's package files give ranges ending at 3.19
# or later, which it accepts, and this setting covers any file that does not.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
lib_path="$libdir:$root_libdir:$libdir/openblas-pthread"
link_flags="-Wl,--disable-new-dtags -Wl,-rpath,$lib_path -Wl,-rpath-link,$lib_path"

configure_build() {
  cmake -S "$repo_root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLSI_NATIVE=ON \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
    -DPKG_CONFIG_EXECUTABLE="$prefix/bin/pkg-config" -DBLA_VENDOR=OpenBLAS \
    -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DCMAKE_SHARED_LINKER_FLAGS="$link_flags" || return 1
  echo "--- where CMake found the dependencies (each should be under $prefix)"
  local keys="Eigen3_DIR|doctest_DIR|CLI11_DIR|nlohmann_json_DIR|BLAS_openblas_LIBRARY"
  keys+="|OPENSSL_CRYPTO_LIBRARY|OPENSSL_INCLUDE_DIR|ZLIB_LIBRARY_RELEASE|ZLIB_INCLUDE_DIR"
  keys+="|CAIRO_INCLUDE_DIRS|CAIRO_LINK_LIBRARIES|PKG_CONFIG_EXECUTABLE|LSI_HAVE_OPENBLAS"
  keys+="|CMAKE_CUDA_COMPILER"
  grep -E "^($keys)[:=]" "$build_dir/CMakeCache.txt"
}

# show_libraries: print where lsi-cuda's libraries resolve, and add to the summary those that
# come from outside the prefix, other than glibc, GCC's and CUDA's.
show_libraries() {
  echo "--- libraries that lsi-cuda loads"
  local listing outside
  listing=$(ldd "$lsi" 2>&1)
  echo "$listing"
  outside=$(awk -v prefix="$prefix/" '/=>/ && index($3, prefix) != 1 { print $1 " => " $3 }' \
    <<<"$listing" |
    grep -vE '^(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libgomp|libcu[A-Za-z]*)\.so')
  if [[ -n "$outside" ]]; then
    result_lines+=("lsi-cuda loads these from outside $prefix:" "$outside")
  else
    result_lines+=("lsi-cuda loads every non-base library from $prefix")
  fi
}

# run_program_step NAME CAP_S LOG COMMAND...: run_step, unless lsi-cuda was not built.
run_program_step() {
  if [[ ! -x "$lsi" ]]; then
    record_skip "$1" "$3" "lsi-cuda not built"
    return 1
  fi
  run_step "$@"
}

run_short_search() {
  rm -rf /tmp/lsi-run
  "$lsi" run "$@" --out /tmp/lsi-run || return 1
  tar -czf "$OUT/run.tar.gz" -C /tmp lsi-run
}

# run_gpu_tests: every test whose name contains cuda, verbose, so that what passing tests print
# (the eigensolver's milliseconds per decomposition, the runs' coverage) reaches the log. Each
# must run: a skip (exit status 77) means that the test found no usable GPU, and fails this step.
run_gpu_tests() {
  local listing rc
  listing=$(ctest --test-dir "$build_dir" -R cuda -V --timeout 120 2>&1)
  rc=$?
  echo "$listing"
  if grep -qE '\*\*\*Skipped|Not Run' <<<"$listing"; then
    echo "gpu_check: a cuda test was skipped or not run: every one must run on a GPU machine"
    ((rc != 0)) || rc=3
  fi
  return "$rc"
}

# Build.
export link_flags
export -f unpack_packages configure_build run_short_search run_gpu_tests
run_step unpack 60 build.log unpack_packages || die "unpacking .gpu-deps failed (see build.log)"
configure_ok=0
run_step configure 120 build.log configure_build && configure_ok=1
if ((configure_ok)); then
  run_step build 300 build.log cmake --build "$build_dir" -j "$n_jobs" -- -k 0
  if [[ -x "$lsi" ]]; then
    show_libraries >>"$OUT/build.log"
  fi
else
  record_skip build build.log "configure did not succeed"
fi

if ((!check_gpu)); then
  # Dry run: the built program loads its libraries and writes a run's files, on the CPU.
  run_program_step smoke 120 smoke.log "$lsi" bench --device cpu --no-loop --batch 150 \
    --min-seconds 0.2 --json
  run_program_step smoke-run 120 smoke.log run_short_search --device cpu --iterations 20
  write_summary
  cat "$OUT/summary.txt"
  exit 0
fi

# GPU steps, most important first.
if [[ -f "$build_dir/CTestTestfile.cmake" ]]; then
  run_step ctest 150 ctest.log run_gpu_tests
  result_lines+=("ctest -R cuda: $(grep -E 'tests passed' "$OUT/ctest.log" | tail -n 1)")
  n_skipped=$(grep -cE '\*\*\*Skipped|Not Run' "$OUT/ctest.log")
  if ((n_skipped > 0)); then
    result_lines+=("ctest -R cuda: $n_skipped tests skipped or not run (expected 0)")
  fi
else
  record_skip ctest ctest.log "not configured"
fi
run_program_step bench 100 bench.log "$lsi" bench --device cuda --json
run_program_step bench-tf32 60 bench_tf32.log "$lsi" bench --device cuda --no-loop \
  --precision tf32 --json
run_program_step run 90 run.log run_short_search --device cuda --iterations 3000
if [[ -f bench/pytorch_gpu_evaluator.py ]]; then
  run_program_step pytorch 150 pytorch.log python3 \
    bench/pytorch_gpu_evaluator.py --lsi-cuda "$lsi"
fi

# Figures, copied into the summary so that its tail shows them.
for log in bench.log bench_tf32.log; do
  if [[ -f "$OUT/$log" ]]; then
    figures=$(grep '^{' "$OUT/$log")
    result_lines+=("$log:" "${figures:-(no figures)}")
  fi
done
[[ -f "$OUT/run.log" ]] && result_lines+=("run.log:" "$(tail -n 3 "$OUT/run.log")")
write_summary
cat "$OUT/summary.txt"
