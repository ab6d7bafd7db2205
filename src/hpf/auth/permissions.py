"""Roles and permissions (角色与权限): the one matrix every route and service checks.

``ROLE_PERMISSIONS`` maps each role to the permissions it grants; a principal holds the union of
its roles' permissions. Segregation of duties (岗位分离): the roles of a maker-checker chain
(clerk → reviewer → approver) each grant one workflow step, and the system administrator manages
users and settings but cannot read depositors' personal data. ``render_markdown`` produces
``docs/permissions.md`` (``hpf users permissions --markdown``); a test keeps the two in sync.
"""

from __future__ import annotations

# permission -> (Chinese, English)
PERMISSIONS: dict[str, tuple[str, str]] = {
    "dashboard.read": ("查看业务概览与统计", "view the dashboard and statistics"),
    "report.read": ("查看报表（年度报告、月报、财务报表）", "view reports and statements"),
    "org.read": ("查看组织机构", "view the organisation tree"),
    "org.manage": ("维护组织机构", "maintain the organisation tree"),
    "users.manage": ("管理用户、角色、解锁账户", "manage users and roles, unlock accounts"),
    "settings.manage": ("维护系统设置", "maintain system settings"),
    "policy.read": ("查看政策参数", "view policy parameters"),
    "audit_trail.read": ("查看审计留痕", "read the audit trail"),
    "eaudit.read": ("查看电子稽核结果", "view electronic audit (电子稽核) findings"),
    "eaudit.manage": (
        "运行电子稽核、分派与销号疑点",
        "run electronic audits, assign and close suspicious items",
    ),
    "ops.manage": (
        "运维：登记故障与安全事件、备份与恢复",
        "operations: log incidents and security events, back up and restore",
    ),
    "exchange.export": (
        "向监管平台导出数据（含未脱敏信息，留痕）",
        "export data to the supervision platform (unmasked, audited)",
    ),
    "person.read": ("查看职工与单位信息（脱敏）", "view depositor and employer data (masked)"),
    "person.unmask": ("查看未脱敏的个人信息（留痕）", "view unmasked personal data (audited)"),
    "ledger.read": ("查看账务（余额、凭证）", "view the books (balances, journals)"),
    "ledger.post": ("财务记账", "post finance journals"),
    "ledger.verify": ("账本校验", "verify the books"),
    "deposit.manage": (
        "归集经办（单位与职工开户、变更、封存、转移、合并、销户，催缴通知）",
        "contribution counter work (open, change, seal, transfer, merge and close employer and "
        "depositor accounts; reminder notices to employers in arrears)",
    ),
    "deposit.post": (
        "归集财务（单位资金到账、清册入账、多缴退款）",
        "contribution finance (funds received from employers, posting confirmed lists, "
        "refunds of overpayments)",
    ),
    "withdrawal.counter": (
        "提取窗口受理（代职工申请提取）",
        "withdrawal counter intake (apply on behalf of a depositor)",
    ),
    "withdrawal.pay": (
        "提取支付（导出支付批次、导入银行回盘）",
        "withdrawal payment (export payment batches, import the bank's results)",
    ),
    "loan.counter": (
        "贷款窗口受理（代职工申请贷款）",
        "loan counter intake (apply on behalf of a depositor)",
    ),
    "loan.finance": (
        "贷款财务（发放、提前还款、代扣文件导出与银行回盘导入）",
        "loan finance (disbursement, prepayment, bank debit file export and result import)",
    ),
    "workflow.read": ("查看业务申请及进度", "view applications and their progress"),
    "workflow.submit": ("提交业务申请", "submit applications"),
    "workflow.accept": ("受理业务申请", "accept applications (受理)"),
    "workflow.review": ("复核业务申请", "review applications (复核)"),
    "workflow.approve": ("审批业务申请", "approve applications (审批)"),
    "hotline.handle": ("处理热线工单与回访", "handle hotline tickets and callbacks"),
    "employer.self": ("单位网厅：办理本单位业务", "employer portal: own employer's business"),
    "depositor.self": ("个人网厅：办理本人业务", "depositor portal: own business"),
}

# role -> (Chinese, English)
ROLES: dict[str, tuple[str, str]] = {
    "clerk": ("经办", "clerk"),
    "reviewer": ("复核", "reviewer"),
    "approver": ("审批", "approver"),
    "finance": ("财务", "finance"),
    "auditor": ("稽核", "auditor"),
    "service_agent": ("客服", "service agent"),
    "leadership": ("领导", "leadership"),
    "sysadmin": ("系统管理员", "system administrator"),
    "employer_agent": ("单位经办人", "employer agent"),
    "depositor": ("缴存职工", "depositor"),
}

_COUNTER_BASE = frozenset(
    {"org.read", "policy.read", "ledger.read", "person.read", "workflow.read"}
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # counter business (柜台经办): takes in and accepts applications, checks ID documents
    "clerk": _COUNTER_BASE
    | {
        "workflow.submit",
        "workflow.accept",
        "person.unmask",
        "deposit.manage",
        "withdrawal.counter",
        "loan.counter",
    },
    # second pair of eyes on the application and its documents
    "reviewer": _COUNTER_BASE | {"workflow.review", "person.unmask"},
    # signs off; decides on masked data and the reviewed file
    "approver": _COUNTER_BASE | {"workflow.approve", "dashboard.read"},
    "finance": frozenset(
        {
            "ledger.read",
            "ledger.post",
            "ledger.verify",
            "deposit.post",
            "withdrawal.pay",
            "loan.finance",
            "report.read",
            "dashboard.read",
            "org.read",
            "policy.read",
        }
    ),
    # read-only everything, including the audit trail and electronic audit findings
    "auditor": frozenset(
        {
            "dashboard.read",
            "report.read",
            "org.read",
            "policy.read",
            "audit_trail.read",
            "eaudit.read",
            "eaudit.manage",
            "exchange.export",
            "person.read",
            "person.unmask",
            "ledger.read",
            "ledger.verify",
            "workflow.read",
        }
    ),
    # hotline: answers questions on masked data, follows applications, handles tickets
    "service_agent": frozenset(
        {"person.read", "workflow.read", "hotline.handle", "policy.read", "org.read"}
    ),
    "leadership": frozenset({"dashboard.read"}),
    # runs the system; no access to personal data or the books
    "sysadmin": frozenset(
        {
            "users.manage",
            "settings.manage",
            "org.read",
            "org.manage",
            "policy.read",
            "audit_trail.read",
            "ops.manage",
        }
    ),
    "employer_agent": frozenset({"employer.self", "workflow.submit"}),
    "depositor": frozenset({"depositor.self", "workflow.submit"}),
}

# Which roles each kind of user may hold.
ROLES_BY_KIND: dict[str, frozenset[str]] = {
    "staff": frozenset(ROLES) - {"employer_agent", "depositor"},
    "employer": frozenset({"employer_agent"}),
    "depositor": frozenset({"depositor"}),
}


def permissions_of(roles: frozenset[str] | set[str]) -> frozenset[str]:
    """The union of the permissions of ``roles`` (unknown roles grant nothing)."""
    out: set[str] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(out)


def render_markdown() -> str:
    """The permission matrix as Markdown (docs/permissions.md)."""
    roles = list(ROLES)
    lines = [
        "# 角色与权限 Roles and permissions",
        "",
        "Generated from `hpf.auth.permissions.ROLE_PERMISSIONS` by "
        "`hpf users permissions --markdown > docs/permissions.md`; do not edit by hand "
        "(a test keeps this file in sync with the code).",
        "",
        "## 角色 Roles",
        "",
        "| 角色 role | 名称 | name | 权限数 permissions |",
        "|---|---|---|---|",
    ]
    for role in roles:
        zh, en = ROLES[role]
        lines.append(f"| `{role}` | {zh} | {en} | {len(ROLE_PERMISSIONS[role])} |")
    lines += [
        "",
        "## 权限矩阵 Matrix",
        "",
        "| 权限 permission | 说明 | description | " + " | ".join(ROLES[r][0] for r in roles) + " |",
        "|---|---|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for perm, (zh, en) in PERMISSIONS.items():
        marks = " | ".join("✓" if perm in ROLE_PERMISSIONS[r] else "" for r in roles)
        lines.append(f"| `{perm}` | {zh} | {en} | {marks} |")
    lines += [
        "",
        "Column order: " + ", ".join(f"{ROLES[r][0]} `{r}`" for r in roles) + ".",
        "",
        "Staff see the records of their own branch (管理部) unless they are whole-center "
        "(全中心); employer agents and depositors see only their own (`employer.self`, "
        "`depositor.self`). Personal numbers are masked unless `person.unmask` is held, and each "
        "unmasked view is written to the audit trail.",
        "",
    ]
    return "\n".join(lines)
