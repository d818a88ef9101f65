#!/usr/bin/env bash
# Converts the pyribs tutorial's LeNet-5 and classifies the 10,000 MNIST test digits with it:
# PyTorch gets 9,848 right, and so must we. Exits 77 (skipped) when the file is not beside us.
# Usage: classify_pyribs.sh PYTHON SOURCE_DIR BUILD_DIR SHARED_DIR
set -euo pipefail
python=$1 source_dir=$2 build_dir=$3 shared_dir=$4

pth="$shared_dir/pyribs-lsi-mnist/mnist_classifier.pth"
if [[ ! -f "$pth" ]]; then
  echo "skipped: $pth not found"
  exit 77
fi
converted="$build_dir/tests/pyribs_lenet5.safetensors"
"$python" "$source_dir/tools/convert_weights.py" --network lenet5 "$pth" "$converted"
"$build_dir/lsi-cuda" classify --device cpu --quiet --classifier "$converted" \
  --images "$source_dir/data/t10k-images-idx3-ubyte.gz" \
  --labels "$source_dir/data/t10k-labels-idx1-ubyte.gz"
