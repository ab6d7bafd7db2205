"""Typed domain errors carrying a stable code and a Chinese and an English message.

Routes map them to problem+json, the CLI to one line on stderr and exit code 2.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every business-rule violation hpf reports to a user."""

    code: str = "domain_error"

    def __init__(self, message_zh: str, message_en: str | None = None, *, code: str | None = None):
        super().__init__(message_en or message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        if code is not None:
            self.code = code

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang.startswith("zh") else self.message_en


class InvalidInput(DomainError):
    """A value given by a user or caller is malformed or out of range (输入有误)."""

    code = "invalid_input"
