"""Demo identities (development only): one staff user per role, an employer agent, depositors.

They sign in with :data:`DEMO_PASSWORD`. The employer agent and the depositors are tied to
business records by reference; ``hpf demo seed`` opens those records first and passes their real
references here, re-pointing demo users made earlier by ``hpf users seed-demo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.models import UserAccount
from hpf.auth.users import create_user, find_user_id
from hpf.identifiers import make_id_number
from hpf.org import service as org_service

DEMO_PASSWORD = "Demo2023!"
WHOLE_CENTER_ROLES = ("finance", "auditor", "leadership", "sysadmin")
# role → display name of the demo staff; login = role name
DEMO_STAFF = {
    "clerk": "演示经办",
    "reviewer": "演示复核",
    "approver": "演示审批",
    "finance": "演示财务",
    "auditor": "演示稽核",
    "service_agent": "演示客服",
    "leadership": "演示领导",
    "sysadmin": "演示管理员",
}
# (ID number, name, placeholder 个人账号) of the demo depositors; 371302 = 临沂市兰山区
DEMO_DEPOSITORS = (
    (make_id_number("371302", date(1988, 3, 14), 21, male=True), "张建国", "P900000001"),
    (make_id_number("371302", date(1992, 11, 2), 44, male=False), "李秀英", "P900000002"),
)
# (login, display name, placeholder 单位账号) of the demo employer agent
DEMO_EMPLOYER = ("E0001", "演示单位经办人（临沂演示有限公司）", "E0001")


def seed_demo_users(
    session: Session,
    *,
    branch_id: int | None = None,
    employer_ref: str | None = None,
    depositor_refs: Mapping[str, str] | None = None,
) -> list[str]:
    """Create the demo users that do not exist yet; returns "kind login" of each one made.

    ``employer_ref`` and ``depositor_refs`` (ID number → 个人账号) tie the portal users to real
    records; an existing demo user pointing elsewhere is re-pointed (audited).
    """
    org_service.seed_linyi(session)
    if branch_id is None:
        branches = [u for u in org_service.list_units(session) if u.kind == "branch"]
        if not branches:
            raise LookupError("没有管理部 no branch in the organisation")
        branch_id = branches[0].id
    made: list[str] = []

    def add_once(kind: str, login: str, **kwargs: object) -> None:
        user_id = find_user_id(session, kind, login)
        if user_id is None:
            create_user(session, kind=kind, login_name=login, password=DEMO_PASSWORD, **kwargs)  # type: ignore[arg-type]
            made.append(f"{kind} {login}")
            return
        _repoint(session, user_id, kwargs.get("employer_ref"), kwargs.get("depositor_ref"))

    for role, name in DEMO_STAFF.items():
        add_once(
            "staff",
            role,
            display_name=f"{name} {role}",
            roles=[role],
            branch_id=branch_id,
            whole_center=role in WHOLE_CENTER_ROLES,
        )
    login, name, placeholder = DEMO_EMPLOYER
    add_once(
        "employer",
        login,
        display_name=name,
        employer_ref=employer_ref or placeholder,
        branch_id=branch_id,
    )
    refs = depositor_refs or {}
    for id_number, person, placeholder_ref in DEMO_DEPOSITORS:
        add_once(
            "depositor",
            id_number,
            display_name=person,
            depositor_ref=refs.get(id_number, placeholder_ref),
            branch_id=branch_id,
        )
    return made


def _repoint(session: Session, user_id: int, employer_ref: object, depositor_ref: object) -> None:
    user = session.scalars(select(UserAccount).where(UserAccount.id == user_id)).one()
    changes: dict[str, object] = {}
    if isinstance(employer_ref, str) and user.employer_ref != employer_ref:
        changes["employer_ref"] = (user.employer_ref, employer_ref)
        user.employer_ref = employer_ref
    if isinstance(depositor_ref, str) and user.depositor_ref != depositor_ref:
        changes["depositor_ref"] = (user.depositor_ref, depositor_ref)
        user.depositor_ref = depositor_ref
    if changes:
        session.flush()
        audit.record(
            session,
            actor=None,
            action="user.link",
            object_type="user",
            object_id=user_id,
            detail=changes,
        )
