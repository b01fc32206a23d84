"""Anonymous, SAS and Planetary Computer reads need no azure-storage-blob (an optional extra)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.azure.conftest import PC, PRIVATE, PUBLIC, Blobs
from tests.azure.peers import TokenApi
from tests.azure.token_api import ACCOUNT_KEY

# Run in a fresh interpreter where importing the SDK fails, as when it is not installed.
SCRIPT = """
import json, sys
sys.modules["azure.storage.blob"] = None
from stac_asset import AzureClient, PlanetaryComputerClient, blocking

args = json.loads(sys.argv[1])
sizes = [
    len(blocking.read_href(args["private"], clients=[AzureClient(endpoint_url=args["endpoint"],
        sas_token=args["sas"])])),
    len(blocking.read_href(args["public"], clients=[AzureClient(endpoint_url=args["endpoint"],
        anonymous=True)])),
    len(blocking.read_href(args["pc"], clients=[PlanetaryComputerClient(
        endpoint_url=args["endpoint"], sas_url=args["sas_url"])])),
]
keyed = AzureClient(endpoint_url=args["endpoint"], account_key=args["key"])
try:
    keyed.resolve(args["private"])
except Exception as error:
    print(json.dumps({"sizes": sizes, "error": f"{type(error).__name__}: {error}"}))
"""


def test_reads_without_the_sdk(blobs: Blobs, token_api: TokenApi, tmp_path: Path) -> None:
    args = {
        "endpoint": blobs.endpoint,
        "sas": blobs.container_sas(PRIVATE),
        "private": blobs.url(PRIVATE, "s2/B02.tif"),
        "public": blobs.url(PUBLIC, "s2/B03.tif"),
        "pc": blobs.url(PC, "s2/B04.tif"),
        "sas_url": token_api.sas_url,
        "key": ACCOUNT_KEY,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout)
    expected = [blobs.sources[f"s2/{band}.tif"].stat().st_size for band in ("B02", "B03", "B04")]
    assert result["sizes"] == expected
    assert result["error"].startswith("AccessError")
    assert "pip install 'stac-asset[azure]'" in result["error"]
    assert ACCOUNT_KEY not in result["error"]
