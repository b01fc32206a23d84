"""Child processes of a test that behave the same however the suite was started.

A suite started in the background (``nohup pytest &``) runs with SIGINT
ignored, and an ignored signal stays ignored across ``exec``: a child sent
SIGINT would never see it. :func:`spawn` starts children with SIGINT's
default disposition, and the ``children`` fixture kills any child still
running when its test ends (also when the test failed or hit its timeout).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

Spawn = Callable[..., "subprocess.Popen[Any]"]


def spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(command, **kwargs)``, the child's SIGINT at its default disposition."""
    # A handler (unlike SIG_IGN) is reset to the default by exec; setting one in the
    # parent for the moment of the fork avoids preexec_fn, unsafe with threads.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(command, **kwargs)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


class Children:
    """Starts children with :func:`spawn` and kills those still running at :meth:`close`."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        process = spawn(command, **kwargs)
        self.started.append(process)
        return process

    def close(self) -> None:
        """Kill (and reap) every child still running."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def children() -> Iterator[Spawn]:
    """:func:`spawn`, whose children are killed if they outlive the test."""
    started = Children()
    try:
        yield started
    finally:
        started.close()
