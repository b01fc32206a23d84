"""A test peer in its own process, which announces its port on its output.

Peers run outside the test process so that blocking network reads in it
(GDAL, requests) can never deadlock against a server thread. Our own peers
(:mod:`tests.peers.base`) print ``READY <port>``; a third-party server is
given the pattern of the line it prints once it listens.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 10.0
READY = re.compile(r"^READY (\d+)$", re.MULTILINE)
_POLL = 0.005


class PeerProcess:
    """Runs ``python -m <module> <args>`` (or ``command``) from the repository root and reads
    its port from the first match of ``ready`` (group 1) in its output."""

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        command: Sequence[str] | None = None,
        ready: re.Pattern[str] = READY,
    ) -> None:
        self.module = module
        self.command = list(command) if command else [sys.executable, "-m", module, *args]
        self.ready = ready
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        # stdout and stderr; a file (unlike a pipe) can never fill up. Lives as long as the child.
        self._output = tempfile.NamedTemporaryFile(prefix="peer-", suffix=".log")  # noqa: SIM115

    def output(self) -> str:
        """Everything the child has written so far (stdout and stderr)."""
        return Path(self._output.name).read_text(errors="replace")

    def start(self, timeout: float = START_TIMEOUT) -> PeerProcess:
        """Launch the child and wait until it says it listens."""
        self._process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = self.ready.search(self.output())
            if match:
                self.port = int(match.group(1))
                return self
            if self._process.poll() is not None:
                self._fail("exited before it listened")
            time.sleep(_POLL)
        self._fail(f"did not report that it listens within {timeout} s")
        return self

    def _fail(self, reason: str) -> None:
        """Stop the child and raise with whatever it wrote."""
        output = self.output()
        self.stop()
        raise RuntimeError(f"{self.module} {reason}; output:\n{output}")

    def stop(self) -> None:
        """Terminate the child (killing it if it does not exit)."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._output.close()

    def __enter__(self) -> PeerProcess:
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
