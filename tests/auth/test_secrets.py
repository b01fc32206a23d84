"""No secret of any auth regime shows in written JSON, log records, error text or repr()."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

import stac_asset
from stac_asset import EarthdataClient, GcsClient, HttpClient, UsgsErosClient, blocking
from tests.auth.conftest import BANDS, Earthdata, Files, Gcs, Usgs
from tests.conftest import make_item


def texts_of(caplog: pytest.LogCaptureFixture, out: Path, *objects: object) -> dict[str, str]:
    """Every place a secret must not reach, by name."""
    assert caplog.records  # the flows did log (DEBUG, urllib3 and ours)
    places = {f"repr {i}": repr(obj) for i, obj in enumerate(objects)}
    places.update({f"str {i}": str(obj) for i, obj in enumerate(objects)})
    places["log"] = caplog.text
    places["log args"] = " ".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    for path in out.rglob("*.json"):
        places[str(path)] = path.read_text()
    return places


def assert_nowhere(secrets: dict[str, str], places: dict[str, str]) -> None:
    leaks = [
        (name, where)
        for name, secret in secrets.items()
        for where, text in places.items()
        if secret and secret in text
    ]
    assert not leaks, leaks


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def test_earthdata_secrets(
    earthdata: Earthdata, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hrefs = {b: f"{earthdata.data.url}/granules/{b}.tif" for b in BANDS}
    login = EarthdataClient(
        username=earthdata.username,
        password=earthdata.password,
        hosts=[earthdata.data.netloc],
        login_url=earthdata.login.url,
    )
    token = EarthdataClient(
        token=earthdata.token, hosts=[earthdata.data.netloc], login_url=earthdata.login.url
    )
    objects: list[object] = [login, token]
    for client, folder in ((login, "login"), (token, "token")):
        item = blocking.download_item(make_item("EDL", hrefs), tmp_path / folder, clients=[client])
        objects += [item.to_dict(), stac_asset.resolve(hrefs["B02"], clients=[client])]
        with stac_asset.open(hrefs["B03"], clients=[client]) as ds:
            objects.append(ds.read(1, window=((0, 4), (0, 4))).shape)
    wrong = EarthdataClient(
        username=earthdata.username,
        password="wrong-" + earthdata.password,
        hosts=[earthdata.data.netloc],
        login_url=earthdata.login.url,
    )
    bad_token = EarthdataClient(
        token="bad-" + earthdata.token, hosts=[earthdata.data.netloc], login_url="http://x"
    )
    for client in (wrong, bad_token):
        with pytest.raises(stac_asset.DownloadError) as info:
            blocking.download_item(make_item("EDL", hrefs), tmp_path / "bad", clients=[client])
        objects += [info.value, *[f.error for f in info.value.failures], client]
    cookies = {c.name: c.value for c in login.session.cookies}
    assert cookies
    secrets = {
        "token": earthdata.token,
        "password": earthdata.password,
        "basic": base64.b64encode(f"{earthdata.username}:{earthdata.password}".encode()).decode(),
        **{f"cookie {name}": value for name, value in cookies.items()},
    }
    assert_nowhere(secrets, texts_of(caplog, tmp_path, *objects))


def test_usgs_secrets(usgs: Usgs, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hrefs = {b: f"{usgs.landsatlook.url}/redirect/granules/{b}.tif" for b in BANDS}
    client = UsgsErosClient(
        username=usgs.username,
        token=usgs.pat,
        api_url=usgs.api_url,
        hosts=[usgs.landsatlook.netloc],
    )
    item = blocking.download_item(make_item("LC09", hrefs), tmp_path / "ok", clients=[client])
    access = stac_asset.resolve(hrefs["B02"], clients=[client])
    with stac_asset.open(hrefs["B03"], clients=[client]) as ds:
        ds.read(1, window=((0, 4), (0, 4)))
    usgs.m2m.expire_keys()
    blocking.download_item(make_item("LC09", hrefs), tmp_path / "again", clients=[client])
    wrong = UsgsErosClient(
        username=usgs.username,
        token="wrong-" + usgs.pat,
        api_url=usgs.api_url,
        hosts=[usgs.landsatlook.netloc],
    )
    with pytest.raises(stac_asset.DownloadError) as info:
        blocking.download_item(make_item("LC09", hrefs), tmp_path / "bad", clients=[wrong])
    keys = {r["headers"]["X-Auth-Token"] for r in usgs.landsatlook.log()}
    assert len(keys) == 2
    secrets = {"pat": usgs.pat, "wrong pat": "wrong-" + usgs.pat}
    secrets.update({f"key {i}": key for i, key in enumerate(keys)})
    objects = [client, wrong, item.to_dict(), access, info.value, info.value.failures[0].error]
    assert_nowhere(secrets, texts_of(caplog, tmp_path, *objects))


def test_gcs_and_header_secrets(
    gcs: Gcs,
    files: Files,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("google.auth")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcs.credentials_file))
    client = GcsClient(endpoint=gcs.peer.url)
    hrefs = {b: f"gs://private/{b}.tif" for b in BANDS}
    item = blocking.download_item(make_item("GCS", hrefs), tmp_path / "gcs", clients=[client])
    access = stac_asset.resolve(hrefs["B02"], clients=[client])
    token = access.headers["Authorization"].removeprefix("Bearer ")

    api_key = "api-key-" + "z" * 20
    http = HttpClient(
        headers={"Authorization": "Bearer all-hosts-" + "y" * 12},
        host_headers={files.home.host: {"X-Api-Key": api_key}},
    )
    http_access = http.resolve(f"{files.home.url}/public/B02.tif")
    with pytest.raises(stac_asset.NotFoundError) as info:
        blocking.read_href(f"{files.home.url}/public/none.tif", clients=[http])
    secrets = {
        "gcs token": token,
        "private key": gcs.private_key.splitlines()[1],
        "api key": api_key,
        "bearer": "all-hosts-" + "y" * 12,
    }
    objects = [client, item.to_dict(), access, http, http_access, info.value]
    assert_nowhere(secrets, texts_of(caplog, tmp_path, *objects))
