"""The token layer, once for every token source, against each one's real peer.

Planetary Computer SAS tokens (token API + Azurite), Earthdata login sessions,
USGS M2M API keys, GCS service-account tokens, OAuth2 grants and temporary AWS
credentials (an assumed role: STS and S3 on moto) must all:
fetch one token for 64 threads × 8 assets; renew exactly once when the token
expires mid-job; renew once when the storage refuses it, then read; and, with
the token endpoint down, fail with one clear error naming it, writing nothing.
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
import resource
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)

import stac_asset
from stac_asset import (
    Client,
    EarthdataClient,
    GcsClient,
    OAuth2Client,
    PlanetaryComputerClient,
    RetryPolicy,
    S3Client,
    UsgsErosClient,
    blocking,
)
from stac_asset.clients import answers, get_client_classes, tokens
from tests.auth.conftest import Earthdata, Gcs, Usgs
from tests.azure.conftest import PC, Blobs
from tests.azure.peers import TokenApi
from tests.conftest import make_item
from tests.http_raw.server import LONG_JSON
from tests.oauth2 import server as oauth_server
from tests.oauth2.peer import OAuth2Peer
from tests.peers.process import PeerProcess
from tests.s3.conftest import PRIVATE
from tests.s3.moto_peer import REGION, MotoPeer

SOURCES = ["planetary_computer", "earthdata", "usgs_eros", "gcs", "oauth2", "s3"]
THREADS, ASSETS = 64, 8
QUICK = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05)


@dataclass
class Source:
    """One token source: a client factory, its assets, and its peer's controls."""

    make: Callable[..., Client]
    """A new client; ``endpoint=`` points its token endpoint elsewhere."""
    hrefs: list[str]
    """``ASSETS`` hrefs the client takes (readable ones)."""
    token_requests: Callable[[], int]
    """Token requests the peer answered so far."""
    revoke: Callable[[], None]
    """Make the storage refuse the tokens issued so far."""
    expected: Callable[[str], bytes]
    """The bytes of an href."""
    revoke_before: bool = False
    """Whether :attr:`revoke` spoils the next token rather than those issued (a tampered SAS)."""
    refuse_all: Callable[[], None] | None = None
    """Make the storage refuse every token from now on, where the peer can."""
    reads_answers: bool = True
    """Whether the client reads its token endpoint's answer (an Earthdata login reads none)."""


def _dead_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _planetary_computer(blobs: Blobs, token_api: TokenApi) -> Source:
    def make(endpoint: str | None = None) -> Client:
        sas_url = f"{endpoint}/api/sas/v1/token" if endpoint else token_api.sas_url
        return PlanetaryComputerClient(endpoint_url=blobs.endpoint, sas_url=sas_url, retry=QUICK)

    names = sorted(blobs.sources)
    hrefs = [blobs.url(PC, names[i % len(names)]) for i in range(ASSETS)]

    def revoke() -> None:
        token_api.settings(tamper_next=1)  # the next token has a wrong signature

    return Source(
        make,
        hrefs,
        lambda: len(token_api.log()),
        revoke,
        lambda href: blobs.sources[href.split(f"/{PC}/", 1)[1]].read_bytes(),
        revoke_before=True,
        refuse_all=lambda: token_api.settings(tamper_next=1000),
    )


def _earthdata(earthdata: Earthdata, root: Path) -> Source:
    def make(endpoint: str | None = None) -> Client:
        if endpoint:
            earthdata.data.settings(login_url=endpoint)  # the data host sends users there
        return EarthdataClient(
            username=earthdata.username,
            password=earthdata.password,
            hosts=[earthdata.data.netloc],
            login_url=endpoint or earthdata.login.url,
            retry=QUICK,
        )

    return Source(
        make,
        [f"{earthdata.data.url}/many/f{i:02d}.bin" for i in range(ASSETS)],
        earthdata.login.logins,
        earthdata.data.expire_sessions,
        lambda href: (root / href.split("/", 3)[3]).read_bytes(),
        reads_answers=False,
    )


def _usgs(usgs: Usgs, root: Path) -> Source:
    def make(endpoint: str | None = None) -> Client:
        return UsgsErosClient(
            username=usgs.username,
            token=usgs.pat,
            api_url=f"{endpoint}/api/" if endpoint else usgs.api_url,
            hosts=[usgs.landsatlook.netloc],
            retry=QUICK,
        )

    return Source(
        make,
        [f"{usgs.landsatlook.url}/many/f{i:02d}.bin" for i in range(ASSETS)],
        usgs.m2m.logins,
        usgs.m2m.expire_keys,
        lambda href: (root / href.split("/", 3)[3]).read_bytes(),
        # Landsat Look can no longer check keys with M2M: it refuses every one.
        refuse_all=lambda: usgs.landsatlook.settings(m2m_url=_dead_endpoint()),
    )


def _gcs(gcs: Gcs, root: Path, tmp_path: Path) -> Source:
    def make(endpoint: str | None = None) -> Client:
        credentials = tmp_path / "service-account.json"
        info = json.loads(gcs.credentials_file.read_text())
        if endpoint:
            info["token_uri"] = f"{endpoint}/token"
        credentials.write_text(json.dumps(info))
        return GcsClient(endpoint=gcs.peer.url, credentials_file=credentials, retry=QUICK)

    return Source(
        make,
        [f"gs://many/f{i:02d}.bin" for i in range(ASSETS)],
        lambda: sum(1 for r in gcs.peer.log() if r["path"] == "/token"),
        gcs.peer.expire_keys,
        lambda href: (root / href.removeprefix("gs://")).read_bytes(),
    )


def _oauth2(oauth: OAuth2Peer, files: dict[str, bytes]) -> Source:
    def make(endpoint: str | None = None) -> Client:
        return OAuth2Client(
            f"{endpoint}/oauth/token" if endpoint else oauth.token_url,
            hosts=[oauth.netloc],
            client_id=oauth_server.CONFIDENTIAL_ID,
            client_secret=oauth_server.CONFIDENTIAL_SECRET,
            retry=QUICK,
        )

    names = sorted(files)[:ASSETS]
    return Source(
        make,
        [oauth.url_for(f"protected/{name}") for name in names],
        lambda: len(oauth.token_requests()),
        oauth.revoke,
        lambda href: files[href.rsplit("/", 1)[1]],
    )


class _AssumedRole(CredentialProvider):
    """botocore's credentials of an assumed role, asked of STS when first used."""

    METHOD = "assume-role"

    def __init__(self, assume: Callable[[], dict[str, str]]) -> None:
        super().__init__()
        self._assume = assume

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(self._assume, self.METHOD)


def _s3(moto: MotoPeer, small_cogs: dict[str, Path]) -> Source:
    role = moto.create_role()

    def make(endpoint: str | None = None) -> Client:
        sts = boto3.Session(**moto.admin).client(
            "sts",
            endpoint_url=endpoint or moto.endpoint_url,
            region_name=REGION,
            config=Config(retries={"total_max_attempts": 1}),
        )

        def assume() -> dict[str, str]:
            answer = sts.assume_role(RoleArn=role, RoleSessionName="tokens", DurationSeconds=3600)
            keys = answer["Credentials"]
            return {
                "access_key": keys["AccessKeyId"],
                "secret_key": keys["SecretAccessKey"],
                "token": keys["SessionToken"],
                "expiry_time": keys["Expiration"].isoformat(),
            }

        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([_AssumedRole(assume)]))
        session = boto3.Session(botocore_session=core, region_name=REGION)
        return S3Client(session, endpoint_url=moto.endpoint_url, retry=QUICK)

    bands = sorted(small_cogs)
    return Source(
        make,
        [f"s3://{PRIVATE}/s2/{bands[i % len(bands)]}.tif" for i in range(ASSETS)],
        moto.token_requests,
        moto.expire_tokens,
        lambda href: small_cogs[href.rsplit("/", 1)[1].removesuffix(".tif")].read_bytes(),
        refuse_all=lambda: moto.expire_tokens(later=True),
        # botocore reads STS's answer (and SSO's, the metadata service's): no cap of ours.
        reads_answers=False,
    )


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Source:
    kind = request.param
    if kind == "planetary_computer":
        token_api = request.getfixturevalue("token_api_peer")
        token_api.reset()
        return _planetary_computer(request.getfixturevalue("blobs"), token_api)
    if kind == "s3":  # moto checking signatures, with the temporary keys too
        return _s3(request.getfixturevalue("locked"), request.getfixturevalue("small_cogs"))
    if kind == "oauth2":
        oauth = request.getfixturevalue("oauth2_peer")
        oauth.reset()
        return _oauth2(oauth, request.getfixturevalue("many_files"))
    root = request.getfixturevalue("auth_root")
    if kind == "earthdata":
        earthdata = request.getfixturevalue("earthdata_peers")
        earthdata.reset()
        return _earthdata(earthdata, root)
    if kind == "usgs_eros":
        usgs = request.getfixturevalue("usgs_peers")
        usgs.reset()
        return _usgs(usgs, root)
    gcs = request.getfixturevalue("gcs_peers")
    gcs.peer.reset()
    return _gcs(gcs, root, tmp_path)


def resolve_all(client: Client, hrefs: list[str]) -> list[BaseException]:
    """Each of ``THREADS`` threads resolves every href, all starting at once; the errors."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        for href in hrefs:
            try:
                client.resolve(href)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def read_all(client: Client, source: Source) -> None:
    for href in source.hrefs:
        assert blocking.read_href(href, clients=[client]) == source.expected(href)


def test_one_token_for_all_threads_and_one_renewal_on_expiry(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = source.make()
    assert resolve_all(client, source.hrefs) == []
    assert source.token_requests() == 1
    read_all(client, source)
    assert source.token_requests() == 1

    # Mid-job, the token reaches its expiry (every token issued so far is taken as
    # expired): the next resolves renew it, once for all threads.
    cutoff = datetime.now(timezone.utc)
    stale = tokens.Token.stale
    monkeypatch.setattr(
        tokens.Token,
        "stale",
        lambda token, margin: token.issued_at <= cutoff or stale(token, margin),
    )
    assert resolve_all(client, source.hrefs) == []
    assert source.token_requests() == 2
    read_all(client, source)
    assert source.token_requests() == 2


def test_refused_token_is_renewed_once_then_read(source: Source, tmp_path: Path) -> None:
    client = source.make()
    if source.revoke_before:
        source.revoke()
    assert resolve_all(client, source.hrefs[:1]) == []
    if not source.revoke_before:
        source.revoke()
    item = make_item("TOKENS", {f"a{i}": href for i, href in enumerate(source.hrefs)})
    local = blocking.download_item(
        item, tmp_path, clients=[client], max_concurrent_downloads=8, file_name_strategy="key"
    )
    for key, asset in local.assets.items():
        assert Path(asset.get_absolute_href()).read_bytes() == source.expected(
            item.assets[key].href
        )
    assert source.token_requests() == 2


def test_token_endpoint_down_is_one_clear_error(source: Source, tmp_path: Path) -> None:
    dead = _dead_endpoint()
    client = source.make(endpoint=dead)
    item = make_item("DOWN", {f"a{i}": href for i, href in enumerate(source.hrefs)})
    started = datetime.now()
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item(item, tmp_path / "out", clients=[client], file_name_strategy="key")
    failures = caught.value.failures
    assert len(failures) == ASSETS
    assert all(dead in str(failure.error) for failure in failures), failures[0]
    # One failed attempt (retried as the policy says), remembered for the other assets.
    assert datetime.now() - started < timedelta(seconds=5)
    assert len({str(failure.error).split(": ", 2)[2] for failure in failures}) == 1
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix != ".json"]


def test_a_renewed_token_refused_too_is_one_clear_error(source: Source, tmp_path: Path) -> None:
    if source.refuse_all is None:
        pytest.skip("this peer cannot refuse every token")
    client = source.make()
    source.refuse_all()
    item = make_item("REFUSED", {f"a{i}": href for i, href in enumerate(source.hrefs)})
    with pytest.raises(stac_asset.DownloadError) as caught:
        blocking.download_item(item, tmp_path / "out", clients=[client], file_name_strategy="key")
    failures = caught.value.failures
    assert len(failures) == ASSETS
    assert all(isinstance(f.error, stac_asset.AccessDeniedError) for f in failures)
    # The first token and one renewal, whatever the number of assets.
    assert source.token_requests() == 2
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix != ".json"]


@pytest.fixture(scope="module")
def raw_server() -> Iterator[str]:
    """The raw-socket server's origin (its ``/long-json/`` and ``/json-bomb/`` answers)."""
    with PeerProcess("tests.http_raw.server") as peer:
        yield f"http://127.0.0.1:{peer.port}"


@pytest.mark.parametrize("answer", ["long-json", "json-bomb"])
def test_a_token_answer_is_read_at_most_the_cap(
    source: Source, raw_server: str, answer: str, tmp_path: Path
) -> None:
    if not source.reads_answers:
        pytest.skip("this source reads no answer body")
    client = source.make(endpoint=f"{raw_server}/{answer}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(stac_asset.AccessError) as caught:
        client.resolve(source.hrefs[0])
    error = caught.value
    # Not transient (a bigger answer is no token, however often asked), and it says why.
    assert not isinstance(error, stac_asset.TransientError), error
    assert f"more than {answers.MAX_ANSWER_BYTES // 1024} KiB" in str(error)
    assert f"{raw_server}/{answer}/" in str(error)
    # The 16 MiB the server sends (or its gzip expands to) were never held in memory.
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown * 1024 < LONG_JSON / 2, grown


def test_a_used_client_goes_to_a_worker_process_without_its_tokens(
    source: Source, tmp_path: Path
) -> None:
    client = source.make()
    if isinstance(client, S3Client):
        pytest.skip("made with a boto3 session, which cannot go to another process")
    assert resolve_all(client, source.hrefs[:1]) == []
    held = source.token_requests()
    assert held == 1
    item = make_item("WORKER", {f"a{i}": href for i, href in enumerate(source.hrefs[:2])})
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        local = blocking.download_item(
            item, tmp_path, clients=[client], executor=pool, file_name_strategy="key"
        )
    for key, asset in local.assets.items():
        assert Path(asset.get_absolute_href()).read_bytes() == source.expected(
            item.assets[key].href
        )
    # The worker fetched its own token: none was shipped to it.
    assert source.token_requests() == held + 1


@pytest.mark.parametrize("cls", get_client_classes(), ids=lambda cls: cls.name)
def test_every_client_pickles(cls: type[Client]) -> None:
    copy = pickle.loads(pickle.dumps(cls()))
    assert type(copy) is cls
    copy.close()
