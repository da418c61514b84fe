#!/usr/bin/env bash
# Where learners run the course, checked before the main suite (.ci/run calls this):
#   1. Colab's versions (ipywidgets 7.7.1, plotly 5.24.1, transformers 5.15, accelerate 1.14) in a
#      second venv, the course installed as a Colab notebook's first cell does: notebooks FAST,
#      widget and live-plot tests (tests/test_colab_env.py);
#   2. binder/ built in a fresh venv, notebooks FAST there, peak memory against mybinder's 2 GB
#      (tests/test_binder.py, writes benchmarks/results/binder.json and build/fast/);
#   3. the course site built from that same FAST execution (build/site/), which the browser test
#      tests/browser/test_site.py then opens during `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
make setup
TUTOR_ENV_TESTS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -p no:cacheprovider -rs \
  tests/test_colab_env.py tests/test_binder.py
.venv/bin/python site/build.py --from build/fast --out build/site
echo "learners' checks took $((SECONDS - start)) s"
