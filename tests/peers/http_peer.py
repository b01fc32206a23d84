"""Handle on a :mod:`tests.peers.http_server` process."""

from __future__ import annotations

from pathlib import Path

from tests.peers.peer import Peer
from tests.peers.process import START_TIMEOUT


class HttpPeer(Peer):
    """A range-capable HTTP file server, with faults, running in a child process."""

    def __init__(
        self, root: Path, tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.root = Path(root)
        args = ["--root", str(self.root)]
        if tls is not None:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        super().__init__("tests.peers.http_server", args, host, "https" if tls else "http")

    @classmethod
    def start(
        cls,
        root: Path,
        timeout: float = START_TIMEOUT,
        tls: tuple[Path, Path] | None = None,
        host: str = "127.0.0.1",
    ) -> HttpPeer:
        """Launch a server for ``root`` on ``host`` and wait until it is listening.

        With ``tls`` (certificate chain and key files) it serves HTTPS.
        """
        return cls(root, tls, host).launch(timeout)
