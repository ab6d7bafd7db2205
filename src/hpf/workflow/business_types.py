"""Business types (业务类型): the registry of what can be applied for, and the route of each.

Areas register their types at import time with :func:`register_business_type`; the staff steps
each type needs per amount band come from ``hpf/workflow/routes.toml`` (审批权限配置).

A type may give two checks run at submission (and resubmission): ``validate`` (the payload alone,
no database: shape and formats) and ``check`` (the payload against the database and the
applicant: e.g. that the employer named is the applicant's own). Both refuse by raising a
DomainError; ``check`` writes nothing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.workflow.rules import RouteTable, UnknownBusinessType, parse_route_table

if TYPE_CHECKING:
    from hpf.workflow.views import ApplicationView

OnComplete = Callable[[Session, "ApplicationView"], None]
"""Called inside the caller's transaction when an application is completed (办结)."""
Validate = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Checks and normalises a payload at submission; raises a DomainError when it is wrong."""


@dataclass(frozen=True)
class Submission:
    """What a type's ``check`` sees of a submission besides its (validated) payload."""

    applicant: Principal
    channel: str
    branch_id: int
    subject_ref: str | None
    on: date
    """The business day (China Standard Time) of the submission."""


Check = Callable[[Session, Submission, Mapping[str, Any]], None]
"""Checks a validated payload against the database and the applicant at submission (read only);
raises a DomainError when the application may not be made."""


@dataclass(frozen=True)
class BusinessType:
    """One kind of application, e.g. ``contact_change`` 变更联系方式."""

    code: str
    name_zh: str
    name_en: str
    on_complete: OnComplete | None = None
    validate: Validate | None = None
    check: Check | None = None


_REGISTRY: dict[str, BusinessType] = {}


def register_business_type(
    code: str,
    name_zh: str,
    name_en: str,
    on_complete: OnComplete | None = None,
    *,
    validate: Validate | None = None,
    check: Check | None = None,
) -> BusinessType:
    """Register (or replace) a business type; returns it."""
    if not code or len(code) > 40 or not code.replace("_", "").isalnum():
        raise ValueError(f"invalid business type code: {code!r}")
    btype = BusinessType(code, name_zh, name_en, on_complete, validate, check)
    _REGISTRY[code] = btype
    return btype


def business_type(code: str) -> BusinessType:
    """The registered type of ``code``; raises UnknownBusinessType."""
    found = _REGISTRY.get(code)
    if found is None:
        raise UnknownBusinessType(f"未知的业务类型：{code}", f"unknown business type: {code}")
    return found


def business_types() -> list[BusinessType]:
    """Every registered type, by code."""
    return [_REGISTRY[code] for code in sorted(_REGISTRY)]


@lru_cache(maxsize=1)
def route_table() -> RouteTable:
    """The shipped route table (``routes.toml``), validated once."""
    text = resources.files("hpf.workflow").joinpath("routes.toml").read_text(encoding="utf-8")
    return parse_route_table(tomllib.loads(text))
