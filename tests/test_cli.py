"""The CLI root: version, settings with secrets hidden, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpf import __version__
from hpf.cli import run
from hpf.config import Settings, get_settings


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hpf {__version__}"


def test_config_show_hides_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HPF_SECRET_KEY", "s3cret-value")
    monkeypatch.setenv("HPF_DATABASE_URL", "postgresql://hpf:pw123@db.example/hpf")
    get_settings.cache_clear()
    try:
        assert run(["config", "show"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "s3cret-value" not in out and "pw123" not in out
    assert "secret_key = ********" in out
    assert "postgresql://hpf:***@db.example/hpf" in out


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValueError, match="HPF_SECRET_KEY"):
        Settings(env="production")


@pytest.mark.parametrize(
    "argv",
    [["calc", "loan", "--months", "x"], ["no-such-command"], ["ledger", "journal", "abc"]],
)
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "hpf", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
