"""Test-data factories for users and principals, over the real ``hpf.auth.service`` functions."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from hpf.auth import service
from hpf.auth.principal import Principal
from hpf.identifiers import make_id_number

PASSWORD = "Secret2023"
_counter = itertools.count(1)


def make_user(
    session: Session,
    *,
    roles: Iterable[str] = ("clerk",),
    kind: str = "staff",
    branch_id: int | None = None,
    whole_center: bool = False,
    password: str = PASSWORD,
    login_name: str | None = None,
    **kwargs: object,
) -> Principal:
    """A new user of ``kind`` with ``roles``; returns its principal."""
    n = next(_counter)
    if login_name is None:
        if kind == "depositor":
            login_name = make_id_number("371302", date(1990, 1, 1), n, male=n % 2 == 1)
        elif kind == "employer":
            login_name = f"E9{n:04d}"
        else:
            login_name = f"user{n}"
    user_id = service.create_user(
        session,
        kind=kind,
        login_name=login_name,
        password=password,
        display_name=f"测试用户{n}",
        roles=tuple(roles) if kind == "staff" else (),
        branch_id=branch_id,
        whole_center=whole_center,
        **kwargs,  # type: ignore[arg-type]
    )
    return service.principal_of(session, user_id)
