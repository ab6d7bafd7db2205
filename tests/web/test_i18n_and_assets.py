"""Interface texts come from complete gettext catalogs; front-end assets are local, never a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from hpf.web.i18n import LANGUAGES, load_catalog

WEB = Path(__file__).resolve().parents[2] / "src" / "hpf" / "web"
ROOT = WEB.parents[2]


def used_message_ids() -> set[str]:
    method_map = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    found = extract_from_dir(str(WEB), method_map, keywords={"_": None, "N_": None})
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def test_every_interface_text_is_translated_in_both_catalogs() -> None:
    used = used_message_ids()
    assert len(used) > 50
    for folder in LANGUAGES.values():
        catalog = {m.id: m.string for m in load_catalog(folder) if m.id}
        missing = sorted(i for i in used if not catalog.get(i))
        assert not missing, f"{folder}: untranslated {missing}"
        unused = sorted(set(catalog) - used)
        assert not unused, f"{folder}: obsolete {unused}"


def test_no_cdn_and_assets_pinned() -> None:
    pattern = re.compile(r"""(src|href)=["']https?://""")
    for template in (WEB / "templates").rglob("*.html"):
        assert not pattern.search(template.read_text(encoding="utf-8")), template
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_api_docs_use_the_vendored_swagger_ui(web: object) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web.app)  # type: ignore[attr-defined]
    docs = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
