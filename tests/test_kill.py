"""A run killed with SIGKILL leaves nothing that passes for done; the rerun completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.children import Spawn
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer


def test_kill_9_then_rerun(http: HttpPeer, tmp_path: Path, children: Spawn) -> None:
    files = {}
    (http.root / "kill").mkdir(exist_ok=True)
    for index in range(6):
        data = os.urandom(3 * 1024 * 1024)
        (http.root / "kill" / f"k{index}.bin").write_bytes(data)
        files[f"k{index}.bin"] = data
    item = make_item("KILL", {name: http.url_for(f"kill/{name}") for name in files})
    item_path = tmp_path / "item.json"
    item_path.write_text(json.dumps(item.to_dict(include_self_link=False)))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "stac_asset", "download", str(item_path), str(out)]
    command += ["--max-concurrent-downloads", "2", "--quiet"]

    # Slow bodies: every request waits, and bodies are cut so they resume in pieces.
    http.configure(latency_ms=150, cut_rate=0.5, seed=3)
    process = children(command, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not list(out.glob(".*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(out.glob(".*.part")), "the run was killed mid-transfer"
    for name, data in files.items():
        final = out / name
        if final.exists():
            assert final.read_bytes() == data, f"{name} is at its final path but incomplete"

    http.configure()
    subprocess.run(command, cwd=tmp_path, check=True, timeout=60)
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    assert not list(out.glob(".*.part"))
    assert (out / "KILL.json").is_file()
