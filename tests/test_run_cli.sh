#!/usr/bin/env bash
# `lsi-cuda run` end to end on small runs: outputs, determinism, invalid options and Ctrl-C;
# and `lsi-cuda bench`'s loop figures and its --loop option.
# Usage: test_run_cli.sh LSI_CUDA_BINARY WEIGHTS_DIR PYTHON
set -uo pipefail
program=$1 weights=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n_failed=0

fail() {
  echo "FAIL: $*"
  n_failed=$((n_failed + 1))
}

small_run() {  # small_run OUT_DIR [options...]
  local out=$1
  shift
  "$program" run --device cpu --weights "$weights" --iterations 20 --cells 20 20 --out "$out" "$@" \
    >"$out.log" 2>&1
}

# Outputs of a run, and the keys that summary.json must carry at its top level.
small_run "$work/a" --seed 3 || fail "small run failed: $(cat "$work/a.log")"
for name in archive.csv summary.json progress.csv heatmap.png discriminator.png digits.png; do
  [[ -s "$work/a/$name" ]] || fail "run wrote no $name"
done
"$python" - "$work/a" <<'PY' || fail "summary.json or archive.csv is not as expected"
import csv, json, sys
out = sys.argv[1]
summary = json.load(open(f"{out}/summary.json"))
keys = ["evaluations", "seconds", "evals_per_second", "num_elites", "coverage", "qd_score",
        "obj_max", "obj_mean", "restarts", "rejected_non_finite"]
missing = [k for k in keys if k not in summary]
assert not missing, f"summary.json lacks {missing}"
assert summary["evaluations"] == 20 * 150, summary["evaluations"]
rows = list(csv.reader(open(f"{out}/archive.csv")))
header = rows[0]
assert header[:4] == ["index", "measure_0", "measure_1", "objective"], header[:4]
assert header[4:132] == [f"solution_{i}" for i in range(128)], header[4:8]
assert "discriminator_score" in header
assert len(rows) - 1 == summary["num_elites"], (len(rows), summary["num_elites"])
assert summary["config"]["seed"] == 3
assert summary["search_device"] == "cpu", summary["search_device"]
PY

# Determinism: the same seed gives the same archive.csv, another seed a different one.
small_run "$work/b" --seed 3 || fail "second run failed"
cmp -s "$work/a/archive.csv" "$work/b/archive.csv" || fail "same seed, different archive.csv"
small_run "$work/c" --seed 4 || fail "third run failed"
cmp -s "$work/a/archive.csv" "$work/c/archive.csv" && fail "seeds 3 and 4 gave the same archive"

# Invalid options are rejected before any work: non-zero exit, a message naming the option,
# and no output folder.
expect_rejected() {  # expect_rejected TEXT_IN_MESSAGE options...
  local text=$1
  shift
  local out="$work/rejected"
  if "$program" run --device cpu --weights "$weights" --out "$out" "$@" >"$work/msg" 2>&1; then
    fail "run $* was accepted"
  elif ! grep -q -- "$text" "$work/msg"; then
    fail "run $*: message lacks '$text': $(cat "$work/msg")"
  fi
  [[ -e "$out" ]] && fail "run $* created its output folder"
  rm -rf "$out"
}
expect_rejected "--digit" --digit 10
expect_rejected "--iterations" --iterations 0
expect_rejected "--emitters" --emitters 0
expect_rejected "--batch-size" --batch-size 1
expect_rejected "--sigma0" --sigma0 -0.5
expect_rejected "--sigma0" --sigma0 nan
expect_rejected "--ranker" --ranker best
expect_rejected "--cells" --cells 0 10
expect_rejected "--cells" --cells abc 10
expect_rejected "--digit" --digit eight
expect_rejected "--device" --device tpu
expect_rejected "--weights" --weights "$work/no-such-folder"
mkdir -p "$work/empty-weights"
if "$program" run --device cpu --weights "$work/empty-weights" --out "$work/x" >"$work/msg" 2>&1
then
  fail "run with an empty weights folder was accepted"
fi
grep -q "generator.safetensors" "$work/msg" || fail "missing weights: $(cat "$work/msg")"
small_run "$work/a" && fail "run overwrote the non-empty folder $work/a"

# Ctrl-C: the run stops after the current iteration and still writes its results.
"$program" run --device cpu --weights "$weights" --iterations 1000000 --out "$work/int" \
  >"$work/int.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q "iter " "$work/int.log" 2>/dev/null && break
  sleep 0.1
done
sleep 1
kill -INT "$pid"
wait "$pid" || fail "interrupted run exited with status $?: $(tail -3 "$work/int.log")"
"$python" -c "
import json, sys
s = json.load(open('$work/int/summary.json'))
assert s['interrupted'] is True, s['interrupted']
assert s['iterations_done'] > 0, s['iterations_done']
assert s['iterations_done'] < 1000000, s['iterations_done']
" || fail "interrupted run's summary.json is not as expected"
[[ -s "$work/int/archive.csv" ]] || fail "interrupted run wrote no archive.csv"

# An --out that names a file is refused with its own message.
touch "$work/a-file"
if "$program" run --device cpu --weights "$weights" --iterations 1 --out "$work/a-file" \
  >"$work/msg" 2>&1; then
  fail "run --out FILE was accepted"
elif ! grep -q "is a file, not a folder" "$work/msg"; then
  fail "run --out FILE: unexpected message: $(cat "$work/msg")"
fi

# bench: one JSON line per evaluator batch and per loop, the loops with their time split; a
# malformed --loop is rejected before anything is timed.
"$program" bench --device cpu --weights "$weights" --batch 8 --min-seconds 0.05 \
  --loop 2x4 3x6 --loop-iterations 3 --json >"$work/bench.json" 2>"$work/bench.err" ||
  fail "bench failed: $(cat "$work/bench.err")"
"$python" - "$work/bench.json" <<'PY' || fail "bench's JSON lines are not as expected"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
loops = [r for r in lines if r["what"] == "loop"]
assert [(r["emitters"], r["batch_size"], r["batch"]) for r in loops] == [(2, 4, 8), (3, 6, 18)], loops
for r in loops:
    assert r["iterations"] == 3, r
    assert r["evals_per_second"] > 0, r
    assert 0.0 < r["evaluator_share"] < 1.0, r
assert any(r["what"] == "evaluator" and r["batch"] == 8 for r in lines), lines
PY
if "$program" bench --device cpu --weights "$weights" --loop 5x >"$work/msg" 2>&1; then
  fail "bench --loop 5x was accepted"
elif ! grep -q -- "--loop 5x" "$work/msg"; then
  fail "bench --loop 5x: message lacks the option: $(cat "$work/msg")"
fi

if [[ $n_failed -gt 0 ]]; then
  echo "$n_failed check(s) failed"
  exit 1
fi
echo "all run checks passed"
