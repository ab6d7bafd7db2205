"""Interface languages (界面语言): gettext catalogs read with Babel, Chinese by default.

The catalogs are ``locale/<lang>/LC_MESSAGES/messages.po`` beside this module; they are parsed
once at start-up (no compiled ``.mo`` files to keep in sync). Message ids are English; the
``zh_CN`` catalog holds the Chinese text and the ``en`` catalog the English wording, both
complete (a test checks every id used by a template or a web module). The language of a request
comes from the ``hpf_lang`` cookie that ``/lang/{code}`` sets, else from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "hpf_lang"
LANGUAGES: Mapping[str, str] = {"zh": "zh_CN", "en": "en"}
"""Language code used in URLs and cookies -> catalog folder."""
LANGUAGE_NAMES: Mapping[str, str] = {"zh": "中文", "en": "English"}
HTML_LANG: Mapping[str, str] = {"zh": "zh-CN", "en": "en"}

Gettext = Callable[[str], str]


def _(message: str) -> str:
    """Mark ``message`` for extraction where it is translated later (at render time)."""
    return message


def load_catalog(folder: str) -> Catalog:
    """Parse the ``.po`` catalog of one language."""
    path = LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=folder)


@dataclass(frozen=True)
class Translator:
    """The translations of one language; unknown ids fall back to the id itself."""

    lang: str
    messages: Mapping[str, str]

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def __call__(self, message: str, **params: object) -> str:
        """Translate and fill ``%(name)s`` placeholders."""
        text = self.gettext(message)
        return text % params if params else text


class Catalogs:
    """All interface languages, loaded at application start."""

    def __init__(self, default: str = "zh") -> None:
        self.default = normalise_lang(default) or "zh"
        self._translators: dict[str, Translator] = {}
        for code, folder in LANGUAGES.items():
            catalog = load_catalog(folder)
            messages = {
                str(m.id): str(m.string)
                for m in catalog
                if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
            }
            self._translators[code] = Translator(code, messages)

    def translator(self, lang: str) -> Translator:
        return self._translators.get(lang) or self._translators[self.default]

    def for_request(self, request: Request) -> Translator:
        return self.translator(request_lang(request, self.default))


def normalise_lang(code: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_CN`` -> ``zh``; ``en``, ``en-US`` -> ``en``; else None."""
    if not code:
        return None
    head = code.strip().replace("_", "-").split("-")[0].lower()
    return head if head in LANGUAGES else None


def request_lang(request: Request, default: str = "zh") -> str:
    """The language a request is answered in: its cookie, else the default."""
    return normalise_lang(request.cookies.get(LANG_COOKIE)) or default
