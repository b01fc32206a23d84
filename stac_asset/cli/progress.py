"""What the command line shows while files move: bars on a terminal, or JSON lines."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from .._secrets import mask_url
from ..messages import (
    ErrorAssetDownload,
    FinishAssetDownload,
    Message,
    OpenUrl,
    SkipAssetDownload,
    StartAssetDownload,
    WriteChunk,
)

# Files at least this large get a bar of their own.
LARGE_FILE = 16 * 1024 * 1024

_EVENT_NAMES = {
    StartAssetDownload: "start",
    OpenUrl: "open",
    WriteChunk: "chunk",
    FinishAssetDownload: "finish",
    SkipAssetDownload: "skip",
    ErrorAssetDownload: "error",
}


def event_json(message: Message) -> str:
    """One JSON line for a progress event, hrefs masked."""
    data: dict[str, Any] = {"event": _EVENT_NAMES[type(message)]}
    data.update((f.name, getattr(message, f.name)) for f in fields(message))
    data["href"] = mask_url(data["href"])
    data["path"] = str(data["path"])
    if isinstance(message, ErrorAssetDownload):
        data["error"] = message.reason
    return json.dumps(data)


class JsonEvents:
    """Writes each event as one JSON line (chunks left out: they would flood the stream)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        """Write the event."""
        if isinstance(message, WriteChunk):
            return
        line = event_json(message)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class Bars:
    """One overall bar (files, and bytes as they are known) plus a bar per large file."""

    def __init__(self, files: int, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._overall = tqdm(
            total=files, unit="file", desc="assets", file=self._stream, dynamic_ncols=True
        )
        self._bytes = 0
        self._large: dict[Path, tqdm[Any]] = {}

    def __call__(self, message: Message) -> None:
        """Update the bars for one event."""
        with self._lock:
            if isinstance(message, OpenUrl) and (message.size or 0) >= LARGE_FILE:
                old = self._large.pop(message.path, None)
                if old is not None:
                    old.close()
                self._large[message.path] = tqdm(
                    total=message.size,
                    unit="B",
                    unit_scale=True,
                    desc=message.path.name,
                    leave=False,
                    file=self._stream,
                    dynamic_ncols=True,
                )
            elif isinstance(message, WriteChunk):
                self._bytes += message.size
                bar = self._large.get(message.path)
                if bar is not None:
                    bar.update(message.size)
                self._overall.set_postfix_str(f"{self._bytes / 1e6:.1f} MB", refresh=False)
            elif isinstance(message, (FinishAssetDownload, SkipAssetDownload, ErrorAssetDownload)):
                bar = self._large.pop(message.path, None)
                if bar is not None:
                    bar.close()
                self._overall.update(1)

    def close(self) -> None:
        """Close every bar."""
        with self._lock:
            for bar in self._large.values():
                bar.close()
            self._overall.close()
