#!/usr/bin/env bash
# Install the Debian 12 packages that lsi-cuda needs to build and test, as root or with sudo.
# With --with-torch it also installs PyTorch, which only the training, reference and comparison
# scripts under tools/ and bench/ need.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libeigen3-dev liblapacke-dev libopenblas-dev doctest-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libssl-dev libcairo2-dev
  python3 python3-numpy
)
if [[ "${1:-}" == "--with-torch" ]]; then
  packages+=(python3-torch libopenblas0-pthread npm)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
