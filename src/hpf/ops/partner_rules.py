"""Partner-department API rules (合作部门接口规则): scopes, token format, the masked subject.

Pure values; no database. A partner (不动产登记中心, another HPF center, a bank) holds scopes, one
per kind of look-up; a partner token reaches only ``/api/partner/v1`` and only the look-ups of
its partner's scopes. Staff and depositor tokens never reach those routes, and partner tokens
never reach any other route (they live in their own table). docs/service.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpf.auth.masking import mask_id_number
from hpf.errors import InvalidInput


@dataclass(frozen=True)
class Scope:
    code: str
    name_zh: str
    name_en: str
    route: str
    """The path under ``/api/partner/v1`` this scope opens."""


SCOPES: dict[str, Scope] = {
    s.code: s
    for s in (
        Scope(
            "depositor_status",
            "职工缴存及公积金贷款状态查询",
            "depositor contribution and HPF loan status",
            "/depositor-status",
        ),
        Scope(
            "loan_certificate",
            "公积金贷款（结清）证明核验",
            "HPF loan (settlement) certificate check",
            "/loan-certificate",
        ),
        Scope(
            "employer_status",
            "单位缴存状态查询（统一社会信用代码）",
            "employer payment status by unified social credit code",
            "/employer-status",
        ),
    )
}

TOKEN_PREFIX = "hpfp_"
"""Partner tokens start with this, so a person can tell them from staff tokens at a glance; the
separation itself is the separate table (a staff token is never looked up as a partner's)."""

STATUS_NAMES: dict[str, tuple[str, str]] = {
    "active": ("启用", "active"),
    "suspended": ("停用", "suspended"),
}
RESULT_NAMES: dict[str, tuple[str, str]] = {
    "found": ("查得", "found"),
    "not_found": ("查无", "not found"),
    "invalid": ("参数有误", "invalid input"),
    "denied": ("无权", "denied"),
    "rate_limited": ("超频", "rate limited"),
}


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Scope codes from ``"a b"``, ``"a,b"`` or a list; at least one, all known."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    scopes = frozenset(i.strip() for i in items if i.strip())
    unknown = sorted(scopes - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInput(
            f"接口范围须为：{'、'.join(SCOPES)}（至少一个）；未知：{'、'.join(unknown)}",
            f"scopes must be one or more of {', '.join(SCOPES)}; unknown: {unknown}",
        )
    return scopes


def parse_code(text: str) -> str:
    """A partner code: 2–40 lower-case letters, digits, ``-`` or ``_``."""
    code = (text or "").strip().lower()
    if not 2 <= len(code) <= 40 or not all(c.isalnum() or c in "-_" for c in code):
        raise InvalidInput(
            f"合作部门代码应为2-40位字母、数字、-或_：{text}",
            f"a partner code has 2-40 letters, digits, - or _: {text!r}",
        )
    return code


def masked_subject(kind: str, value: str) -> str:
    """What a call was about, as stored: ID numbers masked; codes of organisations kept."""
    value = (value or "").strip()[:40]
    if kind == "id_number":
        return "id:" + mask_id_number(value)
    return f"{kind}:{value}"[:60]
