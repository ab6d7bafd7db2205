"""The principal (当前用户): who is acting, with which roles, seeing which branches.

What routes and services see of a signed-in user or API token; holds no password material.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpf.auth.permissions import permissions_of

SYSTEM_KIND = "system"


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or an API token's restricted view of one)."""

    user_id: int
    kind: str
    login_name: str
    display_name: str
    roles: frozenset[str]
    branch_id: int | None
    whole_center: bool
    employer_ref: str | None
    depositor_ref: str | None

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_of(self.roles)

    def has(self, permission: str) -> bool:
        """True when one of the principal's roles grants ``permission``."""
        return permission in self.permissions

    def can_see_branch(self, branch_id: int | None) -> bool:
        """True for whole-center staff, and for staff of that branch (数据范围).

        Employer agents and depositors see no branch's records, only their own (``*.self``).
        """
        if self.kind not in ("staff", SYSTEM_KIND):
            return False
        if self.whole_center:
            return True
        return branch_id is not None and branch_id == self.branch_id

    @property
    def is_system(self) -> bool:
        return self.kind == SYSTEM_KIND


def system_principal(name: str = "cli") -> Principal:
    """The operator at the command line: acts with the sysadmin role, audited as ``system``."""
    return Principal(
        user_id=0,
        kind=SYSTEM_KIND,
        login_name=name,
        display_name="命令行 command line",
        roles=frozenset({"sysadmin"}),
        branch_id=None,
        whole_center=True,
        employer_ref=None,
        depositor_ref=None,
    )
