"""Nothing goes over the network: `import tutor` and `tutor.setup()` switch the Hub offline and its
telemetry off, checked the way the attack found it — every connection goes to a local proxy that
counts them, and a TRL trainer is built through the course's own functions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB_SWITCHES = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "DISABLE_TELEMETRY",
    "DO_NOT_TRACK",
)

BUILD_A_TRAINER = """
import time
import tutor
from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.sft import SFTSettings, make_trainer, sft_dataset

course = tutor.setup(FAST=True, quiet=True)
settings = SFTSettings(n_examples=8, batch_size=4)
tokenizer = load_tokenizer("tiny")
trainer = make_trainer(load_causal_lm("tiny"), tokenizer, sft_dataset(8), course.runs / "sft", settings=settings)
time.sleep(3)  # TRL sends its telemetry from a background thread
print("trainer built")
"""


class CountingProxy:
    """A local listening socket standing in for an HTTP(S) proxy: it counts connections, answers none."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.server.close()


def run_behind_proxy(code: str, tmp_path: Path, **env_changes) -> tuple[int, str]:
    proxy = CountingProxy()
    try:
        env = {k: v for k, v in os.environ.items() if k not in HUB_SWITCHES and k != "CI"}  # TRL skips CI runs
        url = f"http://127.0.0.1:{proxy.port}"
        env.update(
            {
                "HTTPS_PROXY": url,
                "HTTP_PROXY": url,
                "https_proxy": url,
                "http_proxy": url,
                "NO_PROXY": "",
                "no_proxy": "",
                "HF_HOME": str(tmp_path / "hf"),
                "TUTOR_RUNS": str(tmp_path / "runs"),
                "PYTHONPATH": str(ROOT),
                **env_changes,
            }
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proxy.connections, proc.stdout
    finally:
        proxy.close()


def test_building_a_trl_trainer_makes_no_network_attempt(tmp_path):
    connections, out = run_behind_proxy(BUILD_A_TRAINER, tmp_path)
    assert "trainer built" in out
    assert connections == 0


def test_the_proxy_does_count_an_attempt(tmp_path):
    """The check can fail: with telemetry explicitly on, the same trainer does reach for the network."""
    connections, _ = run_behind_proxy(BUILD_A_TRAINER, tmp_path, HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="0")
    assert connections >= 1


def test_a_learner_who_turns_the_hub_on_keeps_it_on(tmp_path):
    code = (
        "import os, huggingface_hub.constants as c, tutor\n"
        "tutor.setup(quiet=True)\n"
        "print(os.environ['HF_HUB_OFFLINE'], c.HF_HUB_OFFLINE, os.environ['HF_HUB_DISABLE_TELEMETRY'])\n"
    )
    _, out = run_behind_proxy(code, tmp_path, HF_HUB_OFFLINE="0")
    assert out.split() == ["0", "False", "1"]


def test_the_hub_is_switched_off_even_when_imported_before_tutor(tmp_path):
    code = (
        "import huggingface_hub.constants as c\n"
        "assert not c.HF_HUB_OFFLINE\n"
        "import tutor\n"
        "print(c.HF_HUB_OFFLINE, c.HF_HUB_DISABLE_TELEMETRY)\n"
    )
    _, out = run_behind_proxy(code, tmp_path)
    assert out.split() == ["True", "True"]
