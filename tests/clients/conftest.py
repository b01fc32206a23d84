"""The peers of every token source, shared with the tests of each client."""

from __future__ import annotations

from tests.auth.conftest import (  # noqa: F401 - fixtures
    _gdal_reads_afresh,
    auth_root,
    earthdata_peers,
    gcs_peers,
    usgs_peers,
)
from tests.azure.conftest import azurite, blobs, clean_azure_env, token_api_peer  # noqa: F401
from tests.oauth2.conftest import _no_oauth2_environment, many_files, oauth2_peer  # noqa: F401
from tests.s3.conftest import aws_environment, locked, moto, moto_peer  # noqa: F401
