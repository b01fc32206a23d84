"""The ``stac-asset`` command line: a thin face over the same engine (as rasterio's ``rio``).

Bars, messages and errors go to stderr; stdout carries only data (the
written items when it is not a terminal or with ``--stdout``, ``info`` and
``vsi`` output), so commands chain in pipes. The options of stac-asset 0.4's
command line are here too, with their meaning.

Commands live in a module each (:mod:`.download`, :mod:`.info`, :mod:`.vsi`),
with their shared options (:mod:`.options`), input reading (:mod:`.inputs`),
error reporting (:mod:`.errors`), progress bars (:mod:`.progress`) and the
``info`` report (:mod:`.report`).
"""

from .main import cli, main

__all__ = ["cli", "main"]
