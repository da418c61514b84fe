#!/usr/bin/env bash
# Build a fresh virtual environment the way mybinder's repo2docker builds binder/: the Python of
# binder/runtime.txt, binder/requirements.txt, then binder/postBuild run from the repository root.
#
#   .ci/binder_env.sh VENV_DIR
#
# One difference: postBuild takes torch from the CPU-only index, which CI cannot reach; here the
# same CPU build (torch 2.13.0+cpu) comes from the wheel on disk, so the --index-url is dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:?usage: .ci/binder_env.sh VENV_DIR}
unset PYTHONPATH
runtime=$(tr -d '[:space:]' < binder/runtime.txt)  # e.g. python-3.11
PYTHON=${BINDER_PYTHON:-python${runtime#python-}}

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
export PATH="$VENV/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
if grep -qv '^\s*\(#.*\)\?$' binder/requirements.txt; then
  pip install -q --no-cache-dir -r binder/requirements.txt
fi
sed 's/ --index-url [^ ]*//' binder/postBuild > "$VENV/postBuild"
bash "$VENV/postBuild"
echo "binder environment ready in $VENV"
