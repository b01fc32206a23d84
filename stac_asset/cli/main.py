"""The ``stac-asset`` group: its commands, its version, ``-v``."""

from __future__ import annotations

import click

from .._version import __version__
from .download import download
from .info import info
from .vsi import vsi


@click.group()
@click.version_option(__version__, prog_name="stac-asset")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks with errors.")
def cli(verbose: bool) -> None:
    """Download STAC items' assets, and show how GDAL reaches them."""


cli.add_command(download)
cli.add_command(info)
cli.add_command(vsi)


def main() -> None:
    """Run the command line."""
    cli()
