"""The annual report as titled grids (for XLSX and HTML), in the order of the national
structure (domain.md §8): organisation, deposits, withdrawals, loans, fund placements, main
financial data, asset risk, social and economic benefit (with one grid per breakdown), other
matters."""

from __future__ import annotations

from typing import Any

from hpf.deposits.rules import EMPLOYER_TYPES
from hpf.finance.statements import Table
from hpf.report import breakdowns as bd
from hpf.withdrawals.rules import TYPES

REASONS: dict[str, tuple[str, str]] = {
    **{info.reason_code: (info.name_zh, info.name_en) for info in TYPES.values()},
    "99": ("其他", "other"),
}
"""Withdrawal reason codes (JGJ/T 320 A.7) as the withdrawal types name them."""

LABELS: dict[str, dict[str, str]] = {
    "deposits": {
        "_": "缴存 Deposits",
        "contributions": "缴存额 contributions (元)",
        "balance_start": "年初缴存余额 balance at start (元)",
        "balance_end": "年末缴存余额 balance at end (元)",
        "interest_credited": "结息 interest credited (元)",
        "transfers_in": "转入 transfers in (元)",
        "transfers_out": "转出 transfers out (元)",
        "paying_employers": "实缴单位数 paying employers",
        "paying_depositors": "实缴职工人数 paying depositors",
        "new_employers": "新开户单位数 new employers",
        "new_depositors": "新开户职工人数 new depositors",
        "growth": "缴存增长率 contribution growth",
    },
    "withdrawals": {
        "_": "提取 Withdrawals",
        "amount": "提取额 amount (元)",
        "count": "提取笔数 count",
        "ratio": "提取率 withdrawal ratio",
        "housing_consumption": "住房消费类提取 housing consumption (元)",
        "non_housing": "非住房消费类提取 other (元)",
    },
    "loans": {
        "_": "个人住房贷款 Loans",
        "issued_count": "发放笔数 issued count",
        "issued_amount": "发放金额 issued amount (元)",
        "balance_start": "年初个贷余额 balance at start (元)",
        "balance_end": "年末个贷余额 balance at end (元)",
        "principal_repaid": "回收本金 principal repaid (元)",
        "loan_to_deposit_ratio": "个贷率 loan-to-deposit ratio",
    },
    "placements": {
        "_": "资金存储与运用 Fund placements (year end)",
        "demand_deposits": "住房公积金活期存款 demand deposits (元)",
        "fixed_term_deposits": "住房公积金定期存款 fixed-term deposits (元)",
        "value_added_deposits": "增值收益存款 value-added income deposits (元)",
        "national_debt": "国家债券 national debt (元)",
        "loans": "个人住房贷款 loans (元)",
        "utilisation_ratio": "资金运用率 utilisation ratio",
    },
    "finance": {
        "_": "主要财务数据 Main financial data",
        "income": "业务收入 business income (元)",
        "expenses": "业务支出 business expenses (元)",
        "value_added_income": "增值收益 value-added income (元)",
        "value_added_yield": "增值收益率 value-added yield",
    },
    "risk": {
        "_": "资产风险状况 Asset risk",
        "overdue_amount": "逾期额 overdue amount (元)",
        "overdue_ratio": "逾期率 overdue ratio",
        "risk_reserve_balance": "风险准备金余额 risk reserve balance (元)",
        "reserve_adequacy": "风险准备金充足率 reserve adequacy",
    },
    "benefit": {
        "_": "社会经济效益 Social and economic benefit",
        "housing_contribution_ratio": "住房贡献率 housing contribution ratio",
    },
}

DISTRIBUTION = {
    "risk_reserve": "贷款风险准备金 loan risk reserve (元)",
    "management_expenses": "管理费用 management expenses (元)",
    "public_housing_supplement": "廉租住房建设补充资金 public-housing supplement (元)",
}


BREAKDOWNS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "paying_depositors_by_employer_type": (
        "实缴职工按单位性质 Paying depositors by employer type",
        EMPLOYER_TYPES,
    ),
    "new_depositors_by_employer_type": (
        "新开户职工按单位性质 New depositors by employer type",
        EMPLOYER_TYPES,
    ),
    "contributions_by_employer_type": (
        "缴存额按单位性质 Contributions by employer type",
        EMPLOYER_TYPES,
    ),
    "withdrawals_by_reason": ("提取额按提取原因 Withdrawals by reason", REASONS),
    "withdrawals_by_purpose": ("提取额按用途 Withdrawals by purpose", bd.PURPOSE),
    "loans_by_home": ("发放贷款按套数 Loans issued by home", bd.HOME),
    "loans_by_floor_area": ("发放贷款按面积 Loans issued by floor area", bd.FLOOR_AREA),
    "loans_by_income": ("发放贷款按收入 Loans issued by borrower income", bd.INCOME),
    "loans_by_age": ("发放贷款按年龄 Loans issued by borrower age", bd.AGE),
}
"""Each breakdown of ``benefit``: its title and category labels (code → (Chinese, English))."""

COLUMNS = {
    "count": "笔数/人数 count",
    "amount": "金额 amount (元)",
    "share": "占比 share",
    "amount_share": "金额占比 amount share",
}


def _flat(title: str, labels: dict[str, str], values: dict[str, Any]) -> Table:
    t = Table(title, ["指标 indicator", "数值 value"])
    for key, label in labels.items():
        if key != "_":
            value = values[key]
            t.rows.append([label, "" if value is None else value])
    return t


def _breakdown(title: str, labels: dict[str, tuple[str, str]], data: dict[str, Any]) -> Table:
    keys = [k for k in COLUMNS if any(k in cell for cell in data.values())] or ["share"]
    t = Table(title, ["类别 category", *(COLUMNS[k] for k in keys)])
    for code, cell in data.items():
        zh, en = labels.get(code, ("", ""))
        t.rows.append(
            [
                f"{code} {zh} {en}".strip() if labels is REASONS else f"{zh} {en}",
                *("" if cell[k] is None else cell[k] for k in keys),
            ]
        )
    return t


def _organisation(report: dict[str, Any]) -> Table:
    org = report["organisation"]
    t = Table(f"{report['year']} 年度 机构概况 Organisation", ["指标 indicator", "数值 value"])
    t.rows.append(["管理中心 center", org["center"]])
    t.rows.append(["管理部/分中心数 branches", org["branch_count"]])
    t.rows.append(["服务网点数 service points", org["service_point_count"]])
    for branch in org["branches"]:
        t.rows.append([f"管理部 branch {branch['code']}", branch["name"]])
    return t


def _other_matters(report: dict[str, Any]) -> Table:
    other = report["other_matters"]
    t = Table(f"{report['year']} 年度 其他重要事项 Other matters", ["事项 matter", "内容 detail"])
    for change in other["policy_changes"]:
        t.rows.append([f"政策参数调整 policy change {change['effective']}", change["label"]])
    t.rows.append(["年度已结账 year closed", "是 yes" if other["year_closed"] else "否 no"])
    return t


def report_tables(report: dict[str, Any]) -> list[Table]:
    """One grid per section in the national order, a grid per benefit breakdown."""
    year = report["year"]
    out: list[Table] = [_organisation(report)]
    for section, labels in LABELS.items():
        t = _flat(f"{year} 年度 {labels['_']}", labels, report[section])
        if section == "withdrawals":
            for code, amount in report["withdrawals"]["by_reason"].items():
                t.rows.append([f"提取原因 reason {code} (元)", amount])
        if section == "finance":
            for key, label in DISTRIBUTION.items():
                t.rows.append([label, report["finance"]["distribution"][key]])
        out.append(t)
        if section == "benefit":
            for key, (title, names) in BREAKDOWNS.items():
                out.append(_breakdown(f"{year} 年度 {title}", names, report["benefit"][key]))
    out.append(_other_matters(report))
    return out
