"""Handle on a :mod:`tests.peers.http_server` process.

The server runs in its own process so that blocking network reads in the test
process (GDAL, requests) can never deadlock against a server thread.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 10.0
CONTROL_TIMEOUT = 5.0

# Control calls must never go through a proxy configured in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpPeer:
    """A range-capable HTTP file server running in a child process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        # Lives as long as the child; a file (unlike a pipe) can never fill up.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115

    @classmethod
    def start(cls, root: Path, timeout: float = START_TIMEOUT) -> HttpPeer:
        """Launch a server for ``root`` and wait until it is listening."""
        peer = cls(root)
        peer._launch(timeout)
        return peer

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, relpath: str) -> str:
        """URL of a path relative to the root (percent-encoded)."""
        return f"{self.url}/{quote(relpath.lstrip('/'))}"

    def log(self) -> list[dict[str, Any]]:
        """All logged requests, oldest first."""
        return self._control("GET", "log")

    def reset(self) -> None:
        """Clear the request log and all faults."""
        self._control("POST", "reset")

    def configure(self, **config: Any) -> None:
        """Replace the fault config; unspecified keys get their defaults.

        Raises ValueError if the server rejects the config.
        """
        self._control("POST", "config", config)

    def requests_for(self, match: str | Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Logged requests whose decoded path (no query) ends with ``match``,
        or for which the predicate ``match`` returns True."""
        if callable(match):
            return [entry for entry in self.log() if match(entry)]
        return [
            entry for entry in self.log() if unquote(urlsplit(entry["path"]).path).endswith(match)
        ]

    def stop(self) -> None:
        """Terminate the server process (killing it if it does not exit)."""
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

    def __enter__(self) -> HttpPeer:
        if self._process is None:
            self._launch(START_TIMEOUT)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, timeout: float) -> None:
        """Start the child and read its ``READY <port>`` line."""
        command = [
            sys.executable,
            "-m",
            "tests.peers.http_server",
            "--root",
            str(self.root),
            "--port",
            "0",
        ]
        self._process = subprocess.Popen(
            command,
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
            f"http_server for {self.root} {reason}; "
            f"exit code {process.returncode}; stderr:\n{stderr}"
        )

    def _control(self, method: str, name: str, payload: object = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_control/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _OPENER.open(request, timeout=CONTROL_TIMEOUT) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            message = json.load(error).get("error", error.reason)
            raise ValueError(f"{method} /_control/{name}: {message}") from error
