"""Small helpers shared by every area's CLI commands: errors, JSON output, progress bars."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from hpf.errors import DomainError


def one_line(text: str) -> str:
    """Collapse a message onto one line."""
    return " ".join(text.split())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error to stderr and exit (2 = bad input, by convention)."""
    typer.echo(f"hpf: 错误 error: {one_line(message)}", err=True)
    raise typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a DomainError raised inside the block into a one-line error and exit code 2."""
    try:
        yield
    except DomainError as exc:
        fail(f"{exc.message_zh} ({exc.message_en})")


def print_json(data: Any) -> None:
    """Print data as UTF-8 JSON (Chinese left readable)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


class _Count(ProgressColumn):
    """``done/total``, or ``done`` alone for a task of unknown size (``total=None``)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        return Text(done if task.total is None else f"{done}/{int(task.total):,}")


def progress() -> Progress:
    """A progress bar for long batch jobs, written to stderr so JSON on stdout stays clean."""
    from rich.console import Console

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        _Count(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
