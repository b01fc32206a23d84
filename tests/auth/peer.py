"""Handle on a :mod:`tests.auth.servers` process (one role, one loopback address)."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.request
from types import TracebackType
from typing import Any

from tests.peers.http_peer import REPO_ROOT

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AuthPeer:
    """One auth stand-in (Earthdata login or data host, S3, M2M, Landsat Look, GCS)."""

    def __init__(self, role: str, host: str, settings: dict[str, Any]) -> None:
        self.role = role
        self.host = host
        self.port = 0
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives with the child
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.auth.servers",
                role,
                "--host",
                host,
                "--settings",
                json.dumps(settings),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self._process.stdout is not None
        deadline = time.monotonic() + 10
        line = ""
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            if selector.select(max(0.0, deadline - time.monotonic())):
                line = self._process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            self._stderr.seek(0)
            raise RuntimeError(f"{role} peer did not start: {line!r} {self._stderr.read()}")
        self.port = int(line.split()[1])

    @property
    def url(self) -> str:
        """The peer's origin, ``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def _control(self, name: str, payload: object = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_control/{name}",
            data=data,
            method="POST" if data or name != "log" else "GET",
        )
        with _OPENER.open(request, timeout=5) as response:
            return json.load(response)

    def log(self) -> list[dict[str, Any]]:
        """Every request seen since the last reset, oldest first."""
        return list(self._control("log"))

    def reset(self) -> None:
        """Clear the log and the login counter; restore the start settings."""
        self._control("reset", {})

    def configure(self, **settings: Any) -> None:
        """Merge ``settings`` (``expire_keys=True`` forgets every API key issued)."""
        self._control("config", settings)

    def logins(self) -> int:
        """How many logins the peer has answered since the last reset."""
        return int(self._control("state", {})["logins"])

    def stop(self) -> None:
        """Terminate the child."""
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> AuthPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
