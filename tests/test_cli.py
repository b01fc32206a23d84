"""The command line, through click's runner and as real subprocesses against the peers."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pystac
import pytest
import requests
from click.testing import CliRunner

import stac_asset
from stac_asset.cli import cli
from tests.children import Spawn
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer
from tests.peers.process import PeerProcess

SECRET = "Bearer sup3r-s3cret-t0ken"


def stac_asset_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "stac_asset", *args]


@pytest.fixture
def collection(http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path) -> dict[str, object]:
    items = [
        make_item("one", {"B02": http.url_for("s2/B02.tif")}),
        make_item("two", {"B03": http.url_for("s2/B03.tif"), "B04": http.url_for("s2/B04.tif")}),
    ]
    return pystac.ItemCollection(items).to_dict()


@pytest.fixture
def stac_api(collection: dict[str, object], tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "features.json"
    path.write_text(json.dumps(collection))
    with PeerProcess("tests.peers.stac_api", ["--items", str(path)]) as api:
        yield f"http://127.0.0.1:{api.port}/"


def test_pipe_from_stac_client_search(
    stac_api: str, small_cogs: dict[str, Path], tmp_path: Path, children: Spawn
) -> None:
    out = tmp_path / "out"
    search = children(
        ["stac-client", "search", stac_api, "--max-items", "10"], stdout=subprocess.PIPE
    )
    result = subprocess.run(
        stac_asset_command("download", "-", str(out), "--stdout"),
        stdin=search.stdout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert search.wait() == 0
    assert result.returncode == 0, result.stderr
    assert (out / "one" / "B02.tif").read_bytes() == small_cogs["B02"].read_bytes()
    assert (out / "two" / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()
    printed = json.loads(result.stdout)
    assert printed["type"] == "FeatureCollection" and len(printed["features"]) == 2
    assert json.loads((out / "item-collection.json").read_text())["features"][0]["id"] == "one"
    assert "%|" not in result.stderr  # no bars when stderr is not a terminal


def test_http_header_reaches_the_server_in_both_forms(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    http.configure(require_headers={"/s2/B0": {"X-One": "1", "X-Two": "2"}})
    result = CliRunner().invoke(
        cli,
        [
            "download",
            http.url_for("s2/item.json"),
            str(tmp_path),
            "--http-header",
            "X-One: 1",
            "--http-header",
            "X-Two=2",
        ],
    )
    assert result.exit_code == 0, result.output
    gets = http.requests_for(lambda r: r["path"].endswith(".tif"))
    assert len(gets) == 3 and all(r["status"] == 200 for r in gets)


def test_partial_failure_exits_1_with_a_summary_and_no_secret(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("P", {"ok": http.url_for("s2/B02.tif"), "gone": http.url_for("s2/gone.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    result = subprocess.run(
        stac_asset_command(
            "download",
            str(source),
            str(tmp_path / "out"),
            "--http-header",
            f"Authorization: {SECRET}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "P/gone" in result.stderr and "404" in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET.split()[1] not in result.stderr + result.stdout
    assert (tmp_path / "out" / "B02.tif").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["download", "x.json", "--fail-fast", "--keep-going"],
        ["download", "x.json", "--http-header", "no separator"],
        ["download", "x.json", "--max-concurrent-downloads", "0"],
        ["nope"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert CliRunner().invoke(cli, args).exit_code == 2


def test_bad_input_is_one_readable_line(tmp_path: Path) -> None:
    result = subprocess.run(
        stac_asset_command("download", str(tmp_path / "missing.json"), str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: filesystem:") and "missing.json" in result.stderr
    verbose = subprocess.run(
        stac_asset_command("-v", "download", str(tmp_path / "missing.json"), str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in verbose.stderr


def test_json_events(http: HttpPeer, remote_item: pystac.Item, tmp_path: Path) -> None:
    result = subprocess.run(
        stac_asset_command(
            "download", http.url_for("s2/item.json"), str(tmp_path), "--json", "-i", "B04"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events] == ["start", "open", "finish"]
    assert events[-1]["key"] == "B04" and events[-1]["path"].endswith("B04.tif")


def test_progress_bars_on_a_terminal_only(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path, children: Spawn
) -> None:
    primary, secondary = pty.openpty()
    # A terminal of 100 columns, as a real one has a size.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = children(
        stac_asset_command("download", http.url_for("s2/item.json"), str(tmp_path)),
        stderr=secondary,
        stdout=subprocess.DEVNULL,
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    os.close(primary)
    assert b"assets: 100%" in output and b"3/3" in output


def test_info_lists_assets_clients_and_reachability(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("I", {"B02": http.url_for("s2/B02.tif"), "gone": http.url_for("s2/gone.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    result = CliRunner().invoke(cli, ["info", str(source), "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert rows["B02"]["client"] == "http" and rows["B02"]["reachable"] == "yes"
    assert rows["B02"]["size"] == small_cogs["B02"].stat().st_size
    assert rows["gone"]["reachable"].startswith("no:") and "404" in rows["gone"]["reachable"]


def test_vsi_masks_secrets_unless_asked(http: HttpPeer, remote_item: pystac.Item) -> None:
    runner = CliRunner()
    args = ["vsi", http.url_for("s2/item.json"), "B04", "--http-header", f"Authorization: {SECRET}"]
    masked = runner.invoke(cli, args)
    assert masked.exit_code == 0, masked.output
    assert "sup3r" not in masked.output and "GDAL_HTTP_HEADERS='***'" in masked.output
    assert f"STAC_ASSET_VSI_PATH=/vsicurl/{http.url_for('s2/B04.tif')}" in masked.output
    # A flag is no secret: eval "$(stac-asset vsi ...)" must set it as it is.
    assert "CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT=IF_SAME_HOST" in masked.output
    shown = runner.invoke(cli, [*args, "--json", "--show-secrets"])
    options = json.loads(shown.output)["gdal_options"]
    assert options["GDAL_HTTP_HEADERS"] == f"Authorization: {SECRET}\r\n"


def test_vsi_takes_the_client_options_and_its_exports_open_the_raster(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    item = make_item("V", {"B02": http.url_for("s2/gone.tif")})
    item.assets["B02"].extra_fields["alternate"] = {"mirror": {"href": http.url_for("s2/B02.tif")}}
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    http.configure(require_headers={"/s2/B0": {"X-Trace": "t1"}})
    vsi = " ".join(
        [*stac_asset_command("vsi", str(source), "B02"), "-a", "mirror", "-c", "http"]
        + ["--http-header", "X-Trace=t1", "--http-max-attempts", "2", "--show-secrets"]
    )
    script = (
        f'eval "$({vsi})" && {sys.executable} -c "import os, rasterio; '
        "print(rasterio.open(os.environ['STAC_ASSET_VSI_PATH']).read(1).shape)\""
    )
    result = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(512, 512)"
    assert {r["status"] for r in http.requests_for("/s2/B02.tif")} == {200, 206}


def test_ctrl_c_exits_130_without_partial_files(
    http: HttpPeer, tmp_path: Path, children: Spawn
) -> None:
    (http.root / "slow").mkdir(exist_ok=True)
    names = []
    for index in range(4):
        (http.root / "slow" / f"s{index}.bin").write_bytes(os.urandom(2 * 1024 * 1024))
        names.append(f"s{index}.bin")
    item = make_item("SLOW", {n: http.url_for(f"slow/{n}") for n in names})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    out = tmp_path / "out"
    http.configure(latency_ms=200, cut_rate=0.7, seed=1)
    process = children(
        stac_asset_command("download", str(source), str(out), "--quiet"),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list(out.glob(".*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert not list(out.glob(".*.part"))
    for name in names:
        final = out / name
        assert not final.exists() or final.read_bytes() == (http.root / "slow" / name).read_bytes()


@pytest.mark.parametrize("command", ["download", "info"])
def test_no_href_on_a_terminal_prints_usage(command: str, tmp_path: Path, children: Spawn) -> None:
    primary, secondary = pty.openpty()
    process = children(
        stac_asset_command(command),
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    os.close(secondary)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        os.close(primary)
    assert process.returncode == 2
    assert f"Usage: python -m stac_asset {command}" in stderr.decode()
    assert "give an HREF" in stderr.decode()
    assert list(tmp_path.iterdir()) == []


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("session", ["own", "custom"])
def test_refused_connection_is_named_with_host_and_port(
    session: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    item = make_item("R", {"a": f"http://127.0.0.1:{port}/a.tif"})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    if session == "custom":
        # A session with auth goes through requests rather than the client's own connections.
        from stac_asset import HttpClient
        from stac_asset.clients.defaults import _defaults

        custom = requests.Session()
        custom.auth = ("user", "pass")
        monkeypatch.setitem(_defaults, HttpClient, HttpClient(custom))
    args = ["download", str(source), str(tmp_path / "out"), "--http-max-attempts", "2", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert f"connection refused by 127.0.0.1:{port}" in result.output, result.output
    # The item's own href too.
    result = CliRunner().invoke(cli, ["download", f"http://127.0.0.1:{port}/item.json", "-q"])
    assert f"connection refused by 127.0.0.1:{port}" in result.output, result.output


def test_rerun_says_how_many_files_were_complete(
    http: HttpPeer, remote_item: pystac.Item, tmp_path: Path
) -> None:
    args = ["download", http.url_for("s2/item.json"), str(tmp_path)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "3 asset(s) of 1 item(s)" in first.stderr and "skipped" not in first.stderr
    (tmp_path / "B03.tif").unlink()
    http.reset()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "3 asset(s) of 1 item(s)" in again.stderr
    assert "2 already complete, skipped" in again.stderr
    assert [r["path"] for r in http.log() if r["path"].endswith(".tif")] == ["/s2/B03.tif"]


def test_every_option_has_help_text() -> None:
    commands = [cli, *cli.commands.values()]
    missing = [
        f"{command.name} {param.opts[0]}"
        for command in commands
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == []


def test_error_hints_name_the_cli_flags(
    http: HttpPeer, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    (http.root / "s2b").mkdir(exist_ok=True)
    (http.root / "s2b" / "B02.tif").write_bytes(small_cogs["B03"].read_bytes())
    item = make_item("C", {"one": http.url_for("s2/B02.tif"), "two": http.url_for("s2b/B02.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    args = ["download", str(source), str(tmp_path / "out"), "-q"]
    collided = CliRunner().invoke(cli, args)
    assert collided.exit_code == 1
    assert "use --file-name-strategy key or --on-collision rename" in collided.output
    assert "file_name_strategy=" not in collided.output
    # What the hint says works.
    assert CliRunner().invoke(cli, [*args, "--file-name-strategy", "key"]).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tif")) == ["one.tif", "two.tif"]
    renamed = CliRunner().invoke(cli, [*args, "--on-collision", "rename"])
    assert renamed.exit_code == 0, renamed.output
    assert (tmp_path / "out" / "B02-two.tif").is_file()
    # From Python, the same error names the keyword arguments.
    with pytest.raises(stac_asset.AssetOverwriteError, match="file_name_strategy='key'"):
        stac_asset.blocking.download_item(item, tmp_path / "py")


def test_items_on_stdin_with_relative_hrefs_need_a_base(
    http: HttpPeer, remote_item: pystac.Item, small_cogs: dict[str, Path], tmp_path: Path
) -> None:
    # s2/item.json on the peer has hrefs like ./B02.tif, and no self link.
    text = json.dumps(remote_item.to_dict(include_self_link=False, transform_hrefs=False))
    runner = CliRunner()
    refused = runner.invoke(cli, ["download", "-", str(tmp_path / "none")], input=text)
    assert refused.exit_code == 2
    assert "relative asset hrefs ('./B02.tif')" in refused.stderr and "--base" in refused.stderr
    assert not (tmp_path / "none").exists()
    info = runner.invoke(cli, ["info"], input=text)
    assert info.exit_code == 2 and "--base" in info.stderr
    # The item's URL, or its directory, is a base.
    for base, out in [(http.url_for("s2/item.json"), "url"), (http.url_for("s2/"), "dir")]:
        result = runner.invoke(
            cli, ["download", "-", str(tmp_path / out), "--base", base], input=text
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / out / "B04.tif").read_bytes() == small_cogs["B04"].read_bytes()
    # A local directory too.
    local = tmp_path / "local"
    local.mkdir()
    for band, path in small_cogs.items():
        (local / f"{band}.tif").write_bytes(path.read_bytes())
    result = runner.invoke(cli, ["info", "--base", str(local), "--json"], input=text)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["client"] for row in rows} == {"filesystem"}
    assert {row["reachable"] for row in rows} == {"yes"}
