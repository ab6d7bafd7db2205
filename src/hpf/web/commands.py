"""``hpf serve``: run the web application with uvicorn."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Start the web application. 启动网站服务。"""
    import uvicorn

    from hpf.web.app import create_app

    typer.echo(f"hpf 正在运行 serving on http://{host}:{port} (API docs /api/docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="info")
