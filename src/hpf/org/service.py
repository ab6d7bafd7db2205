"""Organisation use cases: create units, look them up, load the shipped Linyi structure."""

from __future__ import annotations

import tomllib
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.org.models import AREA_CLASSES, ORG_KINDS, OrgUnit

PARENT_KIND = {"center": None, "branch": "center", "service_point": "branch"}


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None = None,
    area_class: str = "city",
) -> OrgUnit:
    """Create one unit; a branch hangs under the center, a service point under a branch."""
    if kind not in ORG_KINDS:
        raise InvalidInput(f"未知的机构类型：{kind}", f"unknown organisation kind: {kind}")
    if area_class not in AREA_CLASSES:
        raise InvalidInput(f"未知的地区类别：{area_class}", f"unknown area class: {area_class}")
    if not code.strip() or not name.strip():
        raise InvalidInput("机构代码和名称不能为空", "code and name are required")
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise InvalidInput(f"机构代码已存在：{code}", f"organisation code exists: {code}")
    parent_id = None
    wanted_parent = PARENT_KIND[kind]
    if wanted_parent is None:
        if parent_code is not None:
            raise InvalidInput("中心不能有上级机构", "the center has no parent")
        if session.scalar(select(OrgUnit.id).where(OrgUnit.kind == "center")) is not None:
            raise InvalidInput("中心已存在", "the center already exists")
    else:
        parent = session.scalar(select(OrgUnit).where(OrgUnit.code == (parent_code or "")))
        if parent is None or parent.kind != wanted_parent:
            raise InvalidInput(
                f"上级机构 {parent_code} 不存在或类型不符",
                f"parent {parent_code} missing or of wrong kind",
            )
        parent_id = parent.id
    unit = OrgUnit(
        code=code, name=name, kind=kind, parent_id=parent_id, area_class=area_class, active=True
    )
    session.add(unit)
    session.flush()
    return unit


def unit_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise InvalidInput(f"机构不存在：{code}", f"no such organisation unit: {code}")
    return unit


def list_units(session: Session) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))


def seed_linyi(session: Session) -> int:
    """Create the shipped Linyi structure if the database has no center yet; returns units made."""
    if session.scalar(select(OrgUnit.id).where(OrgUnit.kind == "center")) is not None:
        return 0
    data = tomllib.loads(resources.files("hpf.org").joinpath("linyi_units.toml").read_text("utf-8"))
    made = 0
    for entry in data["unit"]:
        create_unit(
            session,
            code=entry["code"],
            name=entry["name"],
            kind=entry["kind"],
            parent_code=entry.get("parent"),
            area_class=entry.get("area_class", "city"),
        )
        made += 1
    return made
