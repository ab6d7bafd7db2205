"""Create ``.venv`` with a working pip, using nothing but the Python standard library.

Debian's python3 ships without ``ensurepip`` unless python3-venv is installed. In that case the
virtual environment is created without pip and pip's own wheel is fetched from the package
index (PIP_INDEX_URL, default PyPI) and used to install itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

TARGET = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")


def main() -> None:
    python = TARGET / "bin" / "python"
    if (
        python.exists()
        and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0
    ):
        return
    try:
        venv.create(TARGET, with_pip=True, clear=True)
    except Exception as exc:  # ensurepip missing (Debian without python3-venv)
        print(
            f"ensurepip unavailable ({exc}); fetching pip from the package index", file=sys.stderr
        )
        venv.create(TARGET, with_pip=False, clear=True)
        wheel = fetch_pip_wheel(TARGET)
        subprocess.run([python, f"{wheel}/pip", "install", "-q", str(wheel)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)


def fetch_pip_wheel(target: Path) -> Path:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    base = index[: -len("/simple")] if index.endswith("/simple") else "https://pypi.org"
    with urllib.request.urlopen(f"{base}/pypi/pip/json", timeout=60) as response:
        info = json.load(response)
    url = next(f["url"] for f in info["urls"] if f["filename"].endswith("-py3-none-any.whl"))
    wheel = target / url.rsplit("/", 1)[1]
    urllib.request.urlretrieve(url, wheel)
    return wheel


if __name__ == "__main__":
    main()
