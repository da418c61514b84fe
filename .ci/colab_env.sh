#!/usr/bin/env bash
# Build a virtual environment with Colab's preinstalled versions, then install the course into it
# the way a notebook's first cell does on Colab (a git URL; torch and the widgets stay as they are).
#
#   .ci/colab_env.sh VENV_DIR
#
# Colab (late 2026) runs Python 3.13 with torch 2.11. Here the only CPU build of torch that pip can
# get without a multi-GB CUDA download is the 2.13.0 wheel on disk, built for Python 3.11 (torch
# for 3.13 from the registry pulls cuda-toolkit and the nvidia-* wheels): so this environment is
# Python 3.11 with torch 2.13.0 and Colab's versions of everything the course's front end touches.
# course/colab.md says what this does and does not test.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:?usage: .ci/colab_env.sh VENV_DIR}
PYTHON=${COLAB_PYTHON:-python3.11}
unset PYTHONPATH  # the course must come from the install below, not from this checkout

# Colab's preinstalled runtime list (googlecolab/backend-info, Aug-Oct 2026): the front-end
# packages, and the ML libraries the course builds on. TRL is not preinstalled there.
COLAB_PINS=(
  "ipywidgets==7.7.1"
  "jupyterlab_widgets==3.0.16"
  "anywidget==0.9.21"
  "plotly==5.24.1"
  "transformers==5.15.0"
  "accelerate==1.14.0"
)

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --upgrade pip  # the venv's bundled pip (23.x) rejects "name @ git+file://" requirements
"${PIP[@]}" "torch==2.13.0"
# What Colab's kernel already has, plus the test runner the checks below need.
"${PIP[@]}" "${COLAB_PINS[@]}" ipykernel nbclient nbformat psutil pytest hypothesis
"$VENV/bin/python" -m pip freeze > "$VENV/colab-before.txt"

# The notebooks' first cell on Colab: %pip install -q "rlhf-tutor @ git+<the course's repository>".
# This checkout's committed HEAD stands in for the repository.
"${PIP[@]}" "rlhf-tutor @ git+file://$PWD"
"$VENV/bin/python" -m pip freeze > "$VENV/colab-after.txt"
echo "colab-versions environment ready in $VENV"
