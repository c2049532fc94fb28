#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with the package and
# its models (MediaPipe 0.10.21 ships them in its wheel: nothing is downloaded
# at run time). With --test, also what the tests need (pytest, and Ray for
# `batch --engine ray`; to run that engine without the tests: pip install -e ".[ray]").
#
#   scripts/setup.sh          # to run the tool
#   scripts/setup.sh --test   # to run the tests too
#
# The install here is editable (edit rules.yaml and models/ in place). The
# package also installs anywhere without the checkout: `pip install .` (or a
# wheel) carries rules.yaml and every file of models/ inside it.
#
# System packages (Debian): a CJK font for Chinese text in videos and clips
# (any font fontconfig knows that covers Chinese will do, or $CONDUCT_COACH_FONT),
# and, for --test, Chromium to check the HTML report in a real browser.
# Installed when apt-get is there and we may use it; otherwise say what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
apt_pkgs=(fonts-wqy-microhei)
if [[ "${1:-}" == "--test" ]]; then
  extras="[test,ray]"  # the tests start a local Ray cluster (batch --engine ray)
  apt_pkgs+=(chromium)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if (( ${#missing[@]} )); then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: install these Debian packages for Chinese text and the browser test: ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extras}"
echo "ready: .venv/bin/python -m vision --help"
