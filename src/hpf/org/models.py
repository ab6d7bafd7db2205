"""Organisation (组织机构): the center (管理中心), its branches (分中心/管理部) and service points (服务网点).

Every business record is booked to one organisation unit.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id

ORG_KINDS = ("center", "branch", "service_point")
AREA_CLASSES = ("city", "county")


class OrgUnit(Base):
    """One unit of the center's organisation tree (中心 → 分中心/管理部 → 服务网点)."""

    __tablename__ = "org_unit"
    __table_args__ = (
        CheckConstraint("kind IN ('center', 'branch', 'service_point')", name="kind"),
        CheckConstraint("area_class IN ('city', 'county')", name="area_class"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    area_class: Mapped[str] = mapped_column(String(10), default="city")
    """'city' (市区及市直) or 'county' (县): selects the contribution-base floor."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
