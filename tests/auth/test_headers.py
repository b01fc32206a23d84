"""Headers for any host: all-host, per-host and session headers reach both views alike,
and no secret follows a redirect to another host."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests

import stac_asset
from stac_asset import HttpClient, blocking
from tests.auth.conftest import Files, seen_by
from tests.threads import read_at_once

API_KEY = "host-key-" + "k" * 16
SESSION_KEY = "session-key-" + "s" * 16
PASSWORD = "session-password-" + "p" * 8


def configured_client(files: Files) -> HttpClient:
    session = requests.Session()
    session.headers["X-Session-Key"] = SESSION_KEY
    session.auth = ("alice", PASSWORD)
    return HttpClient(
        session,
        headers={"X-Team": "geo", "X-Quoted": 'a, "b" c'},
        host_headers={files.home.host: {"X-Api-Key": API_KEY}},
    )


def sent(files_peer_log: list[dict[str, object]], agent: str) -> list[dict[str, str]]:
    return [
        r["headers"]  # type: ignore[misc]
        for r in files_peer_log
        if str(r["headers"].get("User-Agent", "")).startswith(agent)  # type: ignore[attr-defined]
    ]


def test_headers_reach_both_views_identically(
    files: Files, auth_root: Path, tmp_path: Path
) -> None:
    client = configured_client(files)
    href = f"{files.home.url}/public/B02.tif"
    basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    expected = {
        "X-Session-Key": SESSION_KEY,
        "Authorization": basic,
        "X-Team": "geo",
        "X-Quoted": 'a, "b" c',
        "X-Api-Key": API_KEY,
    }
    files.home.configure(require_headers={"/public/": expected})
    blocking.download_file(href, tmp_path / "B02.tif", clients=[client])
    with stac_asset.open(href, clients=[client]) as ds:
        remote = ds.read()
    with rasterio.open(auth_root / "public" / "B02.tif") as ds:
        assert np.array_equal(remote, ds.read())
    assert (tmp_path / "B02.tif").read_bytes() == (auth_root / "public" / "B02.tif").read_bytes()
    log = files.home.log()
    assert all(r["status"] in (200, 206) for r in log)
    for agent in ("GDAL", "python-requests"):
        requests_ = sent(log, agent)
        assert requests_, agent
        for headers in requests_:
            assert {name: headers.get(name) for name in expected} == expected


def test_no_secret_follows_a_redirect_to_another_host(
    files: Files, auth_root: Path, tmp_path: Path
) -> None:
    client = configured_client(files)
    href = f"{files.home.url}/r/public/B03.tif"  # home sends it on to away
    blocking.download_file(href, tmp_path / "B03.tif", clients=[client])
    assert (tmp_path / "B03.tif").read_bytes() == (auth_root / "public" / "B03.tif").read_bytes()
    with stac_asset.open(href, clients=[client]) as ds:
        remote = ds.read()
    with rasterio.open(auth_root / "public" / "B03.tif") as ds:
        assert np.array_equal(remote, ds.read())

    away = files.away.log()
    assert sent(away, "GDAL") and sent(away, "python-requests")
    for headers in sent(away, ""):
        assert headers.get("X-Team") == "geo"  # not a secret: it follows
        assert not {"X-Api-Key", "X-Session-Key", "Authorization", "Cookie"} & set(headers)
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    for secret in (API_KEY, SESSION_KEY, PASSWORD, basic):
        assert not seen_by([files.away], secret)
    assert seen_by([files.home], API_KEY) == {"files"}  # the byte view went there first


def test_host_headers_go_to_their_host_only() -> None:
    client = HttpClient(host_headers={"api.example.com": {"X-Api-Key": API_KEY}})
    assert client.headers_for("https://api.example.com/a.tif") == {"X-Api-Key": API_KEY}
    assert client.headers_for("https://cdn.other.org/a.tif") == {}
    assert API_KEY not in repr(client)


def test_threads_with_different_host_headers_do_not_mix(files: Files, auth_root: Path) -> None:
    host = files.home.host
    files.home.configure(
        require_headers={
            "/public/B02.tif": {"X-Api-Key": "alpha-key-000"},
            "/public/B04.tif": {"X-Api-Key": "beta-key-0000"},
        }
    )
    alpha = HttpClient(host_headers={host: {"X-Api-Key": "alpha-key-000"}})
    beta = HttpClient(host_headers={host: {"X-Api-Key": "beta-key-0000"}})
    results = read_at_once(
        {
            "alpha": (f"{files.home.url}/public/B02.tif", alpha),
            "beta": (f"{files.home.url}/public/B04.tif", beta),
        }
    )
    assert not [r for r in files.home.log() if r["status"] == 401]
    for name, band in (("alpha", "B02"), ("beta", "B04")):
        with rasterio.open(auth_root / "public" / f"{band}.tif") as ds:
            assert np.array_equal(results[name], ds.read())


@pytest.mark.parametrize("value", ["plain", "a,b", 'say "hi"', 'x\\y, "z"'])
def test_gdal_header_quoting_matches_requests(files: Files, value: str) -> None:
    client = HttpClient(headers={"X-Value": value})
    href = f"{files.home.url}/public/B02.tif"
    files.home.configure(require_headers={"/public/": {"X-Value": value}})
    with stac_asset.open(href, clients=[client]) as ds:
        ds.read(1, window=((0, 16), (0, 16)))
    blocking.read_href(href, clients=[client])
    values = {r["headers"].get("X-Value") for r in files.home.log()}
    assert values == {value}
