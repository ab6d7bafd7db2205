"""Create ``.venv`` with a working pip, using nothing but the Python standard library.

The virtual environment is created without pip; the pip wheel that Python bundles for
``ensurepip`` then installs the newest pip from the package index into it (``ensurepip`` would
install the bundled, older pip first and upgrade it after: twice the work, seconds of
``make demo``). Where that fails, ``ensurepip`` and an upgrade do it. Debian's python3 ships
without ``ensurepip`` unless python3-venv is installed: then pip's own wheel is fetched from the
package index (PIP_INDEX_URL, default PyPI) and used to install itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import urllib.parse
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
    venv.create(TARGET, with_pip=False, clear=True)
    bundled = bundled_pip_wheel()
    if bundled is not None:  # pip runs from its wheel: the newest pip from the index
        upgrade = [str(python), f"{bundled}/pip", "install", "-q", "--upgrade", "pip"]
        if subprocess.run(upgrade).returncode == 0:
            return
    try:  # no bundled wheel, or it failed: ensurepip, then the newest pip
        venv.create(TARGET, with_pip=True, clear=True)
    except Exception as exc:  # ensurepip missing (Debian without python3-venv)
        print(
            f"ensurepip unavailable ({exc}); fetching pip from the package index", file=sys.stderr
        )
        venv.create(TARGET, with_pip=False, clear=True)
        wheel = fetch_pip_wheel(TARGET)
        subprocess.run([python, f"{wheel}/pip", "install", "-q", str(wheel)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)


def bundled_pip_wheel() -> Path | None:
    """The pip wheel that ``ensurepip`` would install: in its ``_bundled`` folder, or in
    WHEEL_PKG_DIR where a distribution keeps it (Debian's python3-venv); None when there is none."""
    folders = []
    try:
        import ensurepip
    except ImportError:  # Debian without python3-venv
        pass
    else:
        folders.append(Path(ensurepip.__file__).parent / "_bundled")
    if wheel_pkg_dir := sysconfig.get_config_var("WHEEL_PKG_DIR"):
        folders.append(Path(wheel_pkg_dir))
    wheels = [w for folder in folders for w in sorted(folder.glob("pip-*-py3-none-any.whl"))]
    return wheels[0] if wheels else None


def fetch_pip_wheel(target: Path) -> Path:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    base = index[: -len("/simple")] if index.endswith("/simple") else "https://pypi.org"
    api = f"{base}/pypi/pip/json"
    with urllib.request.urlopen(api, timeout=60) as response:
        info = json.load(response)
    url: str = next(f["url"] for f in info["urls"] if f["filename"].endswith("-py3-none-any.whl"))
    url = urllib.parse.urljoin(api, url)  # some mirrors answer with relative URLs
    wheel = target / url.rsplit("/", 1)[1]
    urllib.request.urlretrieve(url, wheel)
    return wheel


if __name__ == "__main__":
    main()
