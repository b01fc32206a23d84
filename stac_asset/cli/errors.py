"""How the command line reports errors: one line, exit status 1, flags in hints."""

from __future__ import annotations

import re
import traceback
from typing import Any

import click

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """A readable one-line error (exit status 1)."""

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` to stderr."""
        click.echo(f"error: {self.message}", err=True)


def fail(error: BaseException) -> CliError:
    """The one-line error to raise for ``error`` (with ``-v``, its traceback is printed first)."""
    context = click.get_current_context()
    if context.find_root().params.get("verbose"):
        traceback.print_exception(error)
    return CliError(as_flags(str(error), context.command))


# A hint in Python's terms: file_name_strategy='key', on_collision='rename', overwrite=True.
_KEYWORD_HINT = re.compile(r"\b([a-z][a-z0-9_]*)=('[^']*'|True)")


def as_flags(message: str, command: click.Command) -> str:
    """The message with keyword hints the command has options for, as its flags."""
    flags = {
        param.name: max(param.opts, key=len)
        for param in command.params
        if isinstance(param, click.Option) and param.name
    }

    def flag(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if name not in flags:
            return match[0]
        return flags[name] if value == "True" else f"{flags[name]} {value.strip(chr(39))}"

    return _KEYWORD_HINT.sub(flag, message)
