"""``python -m stac_asset``: the command line."""

from .cli import main

main()
