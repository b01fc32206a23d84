"""Microsoft Entra ID sign-in, against Azurite checking OAuth tokens (over HTTPS, a local CA)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import requests
import trustme
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient

import stac_asset
from stac_asset import AzureClient, blocking
from tests.azure.peers import Azurite

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class AzuriteCredential:
    """A ``TokenCredential`` minting tokens Azurite's basic OAuth check accepts (unsigned JWTs)."""

    def __init__(self, audience: str = STORAGE_AUDIENCE, lifetime: int = 3600) -> None:
        self.audience = audience
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now,
            "nbf": now - 60,
            "exp": now + self.lifetime,
            "oid": str(uuid.uuid4()),
            "tid": TENANT,
        }
        header = {"alg": "RS256", "typ": "JWT"}
        token = ".".join(
            [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(b"sig")]
        )
        return AccessToken(token, now + self.lifetime)


@dataclass
class SecureBlobs:
    azurite: Azurite
    ca_file: Path
    source: Path
    container: str

    def url(self, name: str) -> str:
        return f"{self.azurite.endpoint}/{self.container}/{name}"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.verify = str(self.ca_file)
        session.trust_env = False  # else requests prefers REQUESTS_CA_BUNDLE to session.verify
        return session


@pytest.fixture(scope="module")
def secure(
    tmp_path_factory: pytest.TempPathFactory, small_cogs: dict[str, Path]
) -> Iterator[SecureBlobs]:
    folder = tmp_path_factory.mktemp("entra")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key, ca_file = folder / "chain.pem", folder / "key.pem", folder / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    with Azurite(tls=(chain, key)) as azurite:
        service = BlobServiceClient.from_connection_string(
            azurite.connection_string, connection_verify=str(ca_file)
        )
        service.create_container("entra")
        service.create_container("open", public_access="blob")
        for container in ("entra", "open"):
            with small_cogs["B04"].open("rb") as data:
                service.get_blob_client(container, "s2/B04.tif").upload_blob(data)
        yield SecureBlobs(azurite, ca_file, small_cogs["B04"], "entra")


def test_token_credential_in_both_views(secure: SecureBlobs, tmp_path: Path) -> None:
    credential = AzuriteCredential()
    client = AzureClient(
        secure.session(), endpoint_url=secure.azurite.endpoint, credential=credential
    )
    href = secure.url("s2/B04.tif")
    access = client.resolve(href)
    assert access.headers["Authorization"].startswith("Bearer ")
    assert access.gdal_options["AZURE_STORAGE_ACCESS_TOKEN"]
    assert access.expires_at is not None
    assert blocking.read_href(href, clients=[client]) == secure.source.read_bytes()
    with stac_asset.open(access) as ds, rasterio.open(secure.source) as local:
        assert np.array_equal(ds.read(), local.read())
    # One token for every request, and no secret in the access's repr.
    assert credential.scopes == [("https://storage.azure.com/.default",)]
    token = access.gdal_options["AZURE_STORAGE_ACCESS_TOKEN"]
    assert token not in repr(access) and token not in repr(client)

    # Writes go through the SDK with the same credential.
    target = client.resolve(secure.url("out/copy.tif"))
    writer = client.open_writer(target)
    writer.write(secure.source.read_bytes())
    writer.commit()
    assert blocking.read_href(secure.url("out/copy.tif"), clients=[client]) == (
        secure.source.read_bytes()
    )


def test_anonymous_reads_are_refused_here(secure: SecureBlobs) -> None:
    client = AzureClient(secure.session(), endpoint_url=secure.azurite.endpoint, anonymous=True)
    with pytest.raises(stac_asset.AccessDeniedError, match="is not public"):
        blocking.read_href(secure.url("s2/B04.tif"), clients=[client])


def test_wrong_audience_is_a_clear_error(secure: SecureBlobs) -> None:
    credential = AzuriteCredential(audience="https://vault.azure.net")
    client = AzureClient(
        secure.session(),
        endpoint_url=secure.azurite.endpoint,
        credential=credential,
        retry=stac_asset.RetryPolicy(max_attempts=1),
    )
    with pytest.raises(stac_asset.AccessDeniedError) as caught:
        blocking.read_href(secure.url("s2/B04.tif"), clients=[client])
    message = str(caught.value)
    assert "Microsoft Entra ID token was refused" in message
    assert secure.url("s2/B04.tif") in message


def test_default_client_signs_in_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("STAC_ASSET_AZURE_ENTRA_ID", raising=False)
    assert "anonymous" in repr(AzureClient())
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000000")
    assert "entra-id" in repr(AzureClient())
    monkeypatch.setenv("STAC_ASSET_AZURE_ENTRA_ID", "NO")
    assert "anonymous" in repr(AzureClient())
    monkeypatch.setenv("STAC_ASSET_AZURE_ENTRA_ID", "YES")
    monkeypatch.delenv("AZURE_CLIENT_ID")
    assert "entra-id" in repr(AzureClient())
    assert "anonymous" in repr(AzureClient(entra_id=False))


def test_an_anonymous_refusal_signs_in_once(
    secure: SecureBlobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.identity

    made: list[AzuriteCredential] = []

    def default_azure_credential() -> AzuriteCredential:
        made.append(AzuriteCredential())  # stands in for the identity found on the machine
        return made[-1]

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", default_azure_credential)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "STAC_ASSET_AZURE_ENTRA_ID"):
        monkeypatch.delenv(name, raising=False)
    client = AzureClient(secure.session(), endpoint_url=secure.azurite.endpoint)
    expected = secure.source.read_bytes()
    # Public data: read anonymously, no identity looked for.
    public = f"{secure.azurite.endpoint}/open/s2/B04.tif"
    assert blocking.read_href(public, clients=[client]) == expected
    assert made == []
    # Refused anonymously: one sign-in, then the same client reads with its token.
    assert blocking.read_href(secure.url("s2/B04.tif"), clients=[client]) == expected
    assert len(made) == 1 and len(made[0].scopes) == 1
    assert blocking.read_href(secure.url("s2/B04.tif"), clients=[client]) == expected
    assert len(made) == 1 and len(made[0].scopes) == 1


def test_cli_azure_entra_id_flag_signs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from stac_asset.cli import cli
    from stac_asset.clients import azure as azure_module
    from tests.conftest import make_item

    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("STAC_ASSET_AZURE_ENTRA_ID", raising=False)
    asked: list[object] = []

    def credential(environment: dict[str, str]) -> AzuriteCredential | None:
        # As the real one: a credential only where the setting or an identity asks for it.
        if environment.get("STAC_ASSET_AZURE_ENTRA_ID", "").upper() != "YES":
            return None
        asked.append(environment)
        return AzuriteCredential()

    monkeypatch.setattr(azure_module, "default_credential", credential)
    item = make_item("E", {"B04": "https://someaccount.blob.core.windows.net/c/B04.tif"})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))

    def options(*flags: str) -> dict[str, str]:
        args = ["vsi", str(source), "B04", "--json", "--show-secrets", *flags]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout)["gdal_options"])

    assert not options().get("AZURE_STORAGE_ACCESS_TOKEN")  # anonymous, no sign-in
    assert not asked
    token = options("--azure-entra-id")["AZURE_STORAGE_ACCESS_TOKEN"]
    assert token.count(".") == 2 and asked  # a JWT from the credential
