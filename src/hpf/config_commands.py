"""``hpf config``: show the effective settings, secrets hidden."""

from __future__ import annotations

import typer

from hpf.clitools import print_json
from hpf.config import get_settings

app = typer.Typer(help="配置 Configuration", no_args_is_help=True)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (secrets hidden). 显示当前生效的配置。"""
    data = get_settings().public_dict()
    if as_json:
        print_json(data)
        return
    for name, value in data.items():
        typer.echo(f"{name} = {value}")
