"""The tests' children see SIGINT even when the suite runs with it ignored (``nohup ... &``)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.children import Children, spawn

SHOW_SIGINT = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """The test runs as under ``nohup ... &``: SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_child_gets_the_default_sigint_when_the_suite_ignores_it(sigint_ignored: None) -> None:
    plain = subprocess.run([sys.executable, "-c", SHOW_SIGINT], capture_output=True, text=True)
    assert plain.stdout.strip() == "False"  # the trap spawn avoids
    process = spawn([sys.executable, "-c", SHOW_SIGINT], stdout=subprocess.PIPE, text=True)
    out, _ = process.communicate(timeout=30)
    assert out.strip() == "True"
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # the parent's stays as it was


def test_a_child_that_outlives_its_test_is_killed() -> None:
    started = Children()
    process = started([sys.executable, "-c", "import time; time.sleep(600)"])
    started.close()  # as the children fixture does when its test ends
    assert process.returncode == -signal.SIGKILL
