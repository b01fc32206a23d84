"""Basic auth from netrc (clients.netrc_auth): what requests reads, parsed once per change."""

from __future__ import annotations

import netrc
import os
from pathlib import Path

import pytest
import requests.utils

from stac_asset.clients import netrc_auth

URLS = [
    "https://data.example.com/a.tif",
    "https://account.example.com/b.tif",
    "https://elsewhere.example.com/c.tif",
    "https:///no-host",
]


def write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


@pytest.mark.parametrize(
    "text",
    [
        "machine data.example.com login reader password secret-1\n",
        # No login: requests falls back to the account.
        "machine account.example.com account acct password secret-2\n"
        "default login anyone password secret-3\n",
        "machine data.example.com login\n",  # cannot be parsed: none
    ],
)
def test_the_same_as_requests(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "netrc", text)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    for url in URLS:
        assert netrc_auth.netrc_auth(url) == requests.utils.get_netrc_auth(url), url


def test_home_netrc_when_netrc_is_not_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert netrc_auth.netrc_auth(URLS[0]) is None
    write(tmp_path / "_netrc", "machine data.example.com login under password score\n")
    assert netrc_auth.netrc_auth(URLS[0]) == ("under", "score")
    write(tmp_path / ".netrc", "machine data.example.com login dot password first\n")
    assert netrc_auth.netrc_auth(URLS[0]) == ("dot", "first")  # ~/.netrc comes first


def test_parsed_once_and_again_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "netrc"
    write(path, "machine data.example.com login reader password one\n")
    monkeypatch.setenv("NETRC", str(path))
    parses = []
    real = netrc.netrc

    def counted(file: str) -> netrc.netrc:
        parses.append(file)
        return real(file)

    monkeypatch.setattr(netrc_auth.netrc, "netrc", counted)
    for _ in range(100):
        assert netrc_auth.netrc_auth(URLS[0]) == ("reader", "one")
    assert parses == [str(path)]
    # (Another size: a rewrite within the clock's tick keeps the modification time.)
    write(path, "machine data.example.com login reader password second\n")
    assert netrc_auth.netrc_auth(URLS[0]) == ("reader", "second")
    os.remove(path)
    assert netrc_auth.netrc_auth(URLS[0]) is None
