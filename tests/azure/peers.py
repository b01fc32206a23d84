"""Handles on the Azure peers: Azurite (blob service) and the local Planetary Computer token API.

Both run in their own processes (:mod:`tests.peers.process`). Azurite's access
log is its output, one line per request, which the tests read to count requests.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import TracebackType

from tests.azure.token_api import ACCOUNT, ACCOUNT_KEY
from tests.peers.peer import Peer
from tests.peers.process import REPO_ROOT, PeerProcess

AZURITE_MAIN = REPO_ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
START_TIMEOUT = 20.0

_LISTENING = re.compile(r"listens on https?://[^:\s]+:(\d+)")
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


class Azurite:
    """Azurite's blob service on a free loopback port, in memory, with an access log."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        """With ``tls`` (certificate chain and key files): HTTPS, and OAuth (Entra ID) checks."""
        secure = ["--oauth", "basic", "--cert", str(tls[0]), "--key", str(tls[1])] if tls else []
        self.scheme = "https" if tls else "http"
        command = [
            "node",
            str(AZURITE_MAIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--skipApiVersionCheck",
            "--loose",
            "--inMemoryPersistence",
            "--disableTelemetry",
            *secure,
        ]
        self._process = PeerProcess("azurite", command=command, ready=_LISTENING)
        self.port = self._process.start(START_TIMEOUT).port

    @property
    def endpoint(self) -> str:
        """The blob endpoint of account ``devstoreaccount1``."""
        return f"{self.scheme}://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """A connection string with the account key."""
        return (
            f"DefaultEndpointsProtocol={self.scheme};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def mark(self) -> int:
        """A position in the access log, once it has settled; see :meth:`requests_since`.

        Settled first, so that the last answers of whatever ran before are
        not counted after the mark.
        """
        return len(self._settled_lines())

    def requests_since(self, mark: int) -> list[dict[str, str]]:
        """Requests logged after ``mark``, once the log has stopped growing."""
        lines = self._settled_lines()
        return [m.groupdict() for line in lines[mark:] if (m := _ACCESS.search(line))]

    def _settled_lines(self) -> list[str]:
        """The access log once it has not grown for 0.3 s.

        Azurite writes a line when it has sent a response, which may be just
        after the client has read it.
        """
        lines = self._access_lines()
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < 0.3:
            time.sleep(0.05)
            now = self._access_lines()
            if len(now) != len(lines):
                lines, stable_since = now, time.monotonic()
        return lines

    def _access_lines(self) -> list[str]:
        return [line for line in self._process.output().splitlines() if _ACCESS.search(line)]

    def stop(self) -> None:
        """Stop Azurite and drop its log."""
        self._process.stop()

    def __enter__(self) -> Azurite:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class TokenApi(Peer):
    """The local Planetary Computer token API (:mod:`tests.azure.token_api`) in a child process.

    Its own settings: ``lifetime``, ``claimed_lifetime``, ``tamper_next``
    (:meth:`settings`); a slow or failing API: :meth:`configure`.
    """

    def __init__(self) -> None:
        super().__init__("tests.azure.token_api")
        self.launch()

    @property
    def sas_url(self) -> str:
        """The token endpoint, as ``PC_SDK_SAS_URL`` takes it."""
        return f"{self.url}/api/sas/v1/token"
