"""docs/migration.rst stays true: its tables are checked against Config, messages and the CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

import stac_asset
from stac_asset.cli import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migration.rst"

# The fields of stac-asset 0.4.8's Config, for checking that the page accounts for each.
CONFIG_0_4 = {
    "alternate_assets",
    "file_name_strategy",
    "warn",
    "fail_fast",
    "error_strategy",
    "exclude",
    "include",
    "make_directory",
    "clean",
    "overwrite",
    "client_override",
    "http_client_timeout",
    "http_max_attempts",
    "http_assert_content_type",
    "http_headers",
    "earthdata_token",
    "s3_region_name",
    "s3_requester_pays",
    "s3_retry_mode",
    "s3_max_attempts",
    "s3_endpoint_url",
    "oauth2_grant",
    "oauth2_token_url",
    "oauth2_authorization_url",
    "oauth2_device_authorization_url",
    "oauth2_client_id",
    "oauth2_client_secret",
    "oauth2_pkce",
    "oauth2_username",
    "oauth2_password",
    "oauth2_extra",
}


# The options of stac-asset 0.4.8's ``download`` and ``info`` commands.
CLI_0_4 = {
    "-c",
    "--client",
    "-p",
    "--path-template",
    "-a",
    "--alternate-assets",
    "-i",
    "--include",
    "-x",
    "--exclude",
    "-f",
    "--file-name",
    "-q",
    "--quiet",
    "--s3-requester-pays",
    "--s3-retry-mode",
    "--s3-max-attempts",
    "--http-max-attempts",
    "--http-timeout",
    "--http-header",
    "-k",
    "--keep",
    "--fail-fast",
    "--overwrite",
    "--max-concurrent-downloads",
    "--stream",
}
CLI_INFO_0_4 = {
    "-a",
    "--alternate-assets",
    "--s3-requester-pays",
    "--s3-retry-mode",
    "--s3-max-attempts",
    "--http-max-attempts",
    "--http-timeout",
}


def table(name: str) -> list[list[str]]:
    """The body rows of the list-table with ``:name: <name>``, as lists of cell texts."""
    text = PAGE.read_text()
    match = re.search(rf"\.\. list-table::\n   :name: {name}\n(.*?)(?=\n\S|\Z)", text, re.S)
    assert match, f"no table {name!r} in {PAGE.name}"
    rows: list[list[str]] = []
    for line in match.group(1).splitlines():
        if line.startswith("   * - "):
            rows.append([line[len("   * - ") :]])
        elif line.startswith("     - ") and rows:
            rows[-1].append(line[len("     - ") :])
        elif line.startswith("       ") and rows:
            rows[-1][-1] += " " + line.strip()
    return rows[1:]  # without the header row


def literals(name: str) -> list[str]:
    """The ``literal`` in the first cell of each row."""
    return [re.fullmatch(r"``([^`]+)``", row[0].strip()).group(1) for row in table(name)]  # type: ignore[union-attr]


def config_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(stac_asset.Config)}


def test_config_fields_that_kept_their_name_exist() -> None:
    assert set(literals("config-kept")) <= config_fields()


def test_every_0_4_config_field_is_a_field_and_accounted_for() -> None:
    assert config_fields() >= CONFIG_0_4
    assert set(literals("config-kept")) == CONFIG_0_4


def test_new_config_fields_are_listed() -> None:
    assert set(literals("config-new")) | set(literals("config-kept")) == config_fields()


@pytest.mark.parametrize("row", table("messages-fields"), ids=lambda row: row[0])
def test_message_fields_are_as_documented(row: list[str]) -> None:
    event = getattr(stac_asset, row[0].strip("`"))
    documented = [name.strip() for name in row[1].strip("`").split(",")]
    assert [f.name for f in dataclasses.fields(event)] == documented


def options(name: str) -> set[str]:
    command = cli.commands[name]
    return {
        option
        for param in command.params
        if isinstance(param, click.Option)
        for option in param.opts
    }


def test_every_0_4_download_option_is_documented_and_exists() -> None:
    assert set(literals("cli-kept")) == {o for o in CLI_0_4 if o.startswith("--")}
    assert options("download") >= CLI_0_4


def test_0_4_info_options_exist() -> None:
    assert options("info") >= CLI_INFO_0_4
