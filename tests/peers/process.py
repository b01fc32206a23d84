"""A test peer in its own process, which announces its port with a ``READY <port>`` line.

Peers run outside the test process so that blocking network reads in it
(GDAL, requests) can never deadlock against a server thread.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 10.0


class PeerProcess:
    """Runs ``python -m <module> <args>`` from the repository root and reads its port."""

    def __init__(self, module: str, args: Sequence[str] = ()) -> None:
        self.module = module
        self.command = [sys.executable, "-m", module, *args]
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        # Lives as long as the child; a file (unlike a pipe) can never fill up.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115

    def start(self, timeout: float = START_TIMEOUT) -> PeerProcess:
        """Launch the child and wait for its ``READY <port>`` line."""
        self._process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        line = self._read_ready_line(timeout)
        if not line.startswith("READY "):
            self._fail(f"did not report READY within {timeout} s (got {line!r})")
        self.port = int(line.split()[1])
        return self

    def _read_ready_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if selector.select(remaining):
                    return self._process.stdout.readline().strip()
        return ""

    def _fail(self, reason: str) -> None:
        """Stop the child and raise with whatever it wrote to stderr."""
        process = self._process
        assert process is not None
        self._process = None
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        raise RuntimeError(
            f"{self.module} {reason}; exit code {process.returncode}; stderr:\n{stderr}"
        )

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
            if process.stdout is not None:
                process.stdout.close()
        self._stderr.close()

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
