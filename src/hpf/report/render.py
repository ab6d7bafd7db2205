"""The annual report as titled grids (for XLSX and HTML), in the order of the national
structure (domain.md §8): deposits, withdrawals, loans, main financial data, asset risk,
social and economic benefit."""

from __future__ import annotations

from typing import Any

from hpf.finance.statements import Table

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


def report_tables(report: dict[str, Any]) -> list[Table]:
    """One grid per section, then the withdrawal reasons and the distribution."""
    year = report["year"]
    out: list[Table] = []
    for section, labels in LABELS.items():
        t = Table(f"{year} 年度 {labels['_']}", ["指标 indicator", "数值 value"])
        for key, label in labels.items():
            if key != "_":
                value = report[section][key]
                t.rows.append([label, "" if value is None else value])
        if section == "withdrawals":
            for code, amount in report["withdrawals"]["by_reason"].items():
                t.rows.append([f"提取原因 reason {code} (元)", amount])
        if section == "finance":
            for key, label in DISTRIBUTION.items():
                t.rows.append([label, report["finance"]["distribution"][key]])
        out.append(t)
    return out
