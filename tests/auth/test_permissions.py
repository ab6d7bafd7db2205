"""The role × permission matrix: sanity and docs/permissions.md in sync."""

from __future__ import annotations

from pathlib import Path

from hpf.auth.permissions import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    ROLES_BY_KIND,
    render_markdown,
)
from hpf.auth.principal import Principal

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
CONTRACT = {
    "ledger.read",
    "ledger.verify",
    "org.read",
    "org.manage",
    "users.manage",
    "policy.read",
    "audit_trail.read",
    "person.read",
    "person.unmask",
    "workflow.submit",
    "workflow.accept",
    "workflow.review",
    "workflow.approve",
    "dashboard.read",
    "employer.self",
    "depositor.self",
}


def test_every_role_named_and_non_empty() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    for role, perms in ROLE_PERMISSIONS.items():
        assert perms, role
        assert perms <= set(PERMISSIONS), role


def test_contract_permissions_exist_and_are_granted() -> None:
    assert set(PERMISSIONS) >= CONTRACT
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert granted == set(PERMISSIONS)


def test_sysadmin_cannot_read_personal_data() -> None:
    assert "person.read" not in ROLE_PERMISSIONS["sysadmin"]
    assert "person.unmask" not in ROLE_PERMISSIONS["sysadmin"]
    assert "users.manage" in ROLE_PERMISSIONS["sysadmin"]


def test_leadership_only_reads() -> None:
    assert all(p.endswith(".read") for p in ROLE_PERMISSIONS["leadership"])
    assert "dashboard.read" in ROLE_PERMISSIONS["leadership"]


def test_auditor_reads_only() -> None:
    writes = {"ledger.post", "users.manage", "org.manage", "settings.manage"}
    assert not (ROLE_PERMISSIONS["auditor"] & writes)
    assert not any(
        p.startswith("workflow.") and p != "workflow.read" for p in ROLE_PERMISSIONS["auditor"]
    )
    assert {"audit_trail.read", "eaudit.read"} <= ROLE_PERMISSIONS["auditor"]


def test_segregation_of_workflow_steps() -> None:
    steps = ("workflow.accept", "workflow.review", "workflow.approve")
    for role, perms in ROLE_PERMISSIONS.items():
        assert sum(step in perms for step in steps) <= 1, role


def test_portal_roles_only_for_their_kind() -> None:
    assert "employer_agent" not in ROLES_BY_KIND["staff"]
    assert ROLES_BY_KIND["depositor"] == {"depositor"}


def test_principal_has_and_branch_scope() -> None:
    p = Principal(1, "staff", "c", "C", frozenset({"clerk"}), 7, False, None, None)
    assert p.has("workflow.accept") and not p.has("workflow.review")
    assert p.can_see_branch(7) and not p.can_see_branch(8) and not p.can_see_branch(None)
    wide = Principal(2, "staff", "a", "A", frozenset({"auditor"}), 7, True, None, None)
    assert wide.can_see_branch(8)
    me = Principal(3, "depositor", "x", "X", frozenset({"depositor"}), 7, False, None, "P1")
    assert not me.can_see_branch(7)


def test_docs_in_sync() -> None:
    assert DOC.read_text("utf-8") == render_markdown(), (
        "docs/permissions.md is stale: run hpf users permissions --markdown > docs/permissions.md"
    )
