"""``file:checksum`` (multihash) and ``file:size`` verification, computed while bytes stream."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import VerificationError

# multihash code -> (name, hashlib constructor)
_ALGORITHMS: dict[int, tuple[str, Callable[[], Any]]] = {
    0x11: ("sha1", hashlib.sha1),
    0x12: ("sha2-256", hashlib.sha256),
    0x13: ("sha2-512", hashlib.sha512),
    0x14: ("sha3-512", hashlib.sha3_512),
    0x16: ("sha3-256", hashlib.sha3_256),
    0xD5: ("md5", hashlib.md5),
    0xB220: ("blake2b-256", lambda: hashlib.blake2b(digest_size=32)),
    0xB240: ("blake2b-512", hashlib.blake2b),
}


def _read_varint(data: bytes) -> tuple[int, bytes]:
    value = shift = 0
    for index, byte in enumerate(data):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, data[index + 1 :]
        shift += 7
    raise ValueError("truncated varint")


@dataclass(frozen=True)
class Multihash:
    """A parsed multihash: the algorithm and the expected digest."""

    code: int
    name: str
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> Multihash:
        """Parse a hex multihash as found in ``file:checksum``."""
        try:
            raw = bytes.fromhex(text)
            code, rest = _read_varint(raw)
            length, digest = _read_varint(rest)
        except ValueError as error:
            raise VerificationError(f"file:checksum {text!r} is not a hex multihash") from error
        if code not in _ALGORITHMS:
            raise VerificationError(f"file:checksum uses an unsupported hash (code {code:#x})")
        if len(digest) != length:
            raise VerificationError(f"file:checksum {text!r} has a digest of the wrong length")
        return cls(code, _ALGORITHMS[code][0], digest)

    def hasher(self) -> Any:
        """A new hashlib object for this algorithm."""
        return _ALGORITHMS[self.code][1]()


class Verifier:
    """Accumulates a file's size and digest; :meth:`check` compares them with the item's."""

    def __init__(self, size: int | None = None, checksum: str | None = None) -> None:
        self.expected_size = size
        self.multihash = Multihash.parse(checksum) if checksum else None
        self._hasher = self.multihash.hasher() if self.multihash else None
        self.size = 0

    @property
    def hashing(self) -> bool:
        """Whether a digest is being computed."""
        return self._hasher is not None

    def update(self, chunk: bytes) -> None:
        """Account for the next chunk of the file."""
        self.size += len(chunk)
        if self._hasher is not None:
            self._hasher.update(chunk)

    def update_within(self, chunk: bytes, what: str) -> None:
        """:meth:`update`, then raise as :meth:`check` does if ``file:size`` is passed already.

        So a download stops at the first byte more than the item announced.
        """
        self.update(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            self.check(what)

    def reset(self) -> None:
        """Start over (the download restarted from byte 0)."""
        self.size = 0
        if self.multihash is not None:
            self._hasher = self.multihash.hasher()

    def check(self, what: str) -> None:
        """Raise :class:`VerificationError` naming ``what`` if size or digest differ."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise VerificationError(
                f"{what}: size is {self.size} bytes, file:size says {self.expected_size}"
            )
        if self.multihash is not None and self._hasher is not None:
            actual = self._hasher.digest()
            if actual != self.multihash.digest:
                raise VerificationError(
                    f"{what}: {self.multihash.name} is {actual.hex()}, "
                    f"file:checksum says {self.multihash.digest.hex()}"
                )


def sha256_multihash(path: Path) -> str:
    """The sha2-256 multihash of a file, as ``file:checksum`` holds it."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return "1220" + digest.hexdigest()
