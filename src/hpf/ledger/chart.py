"""Chart of accounts codes (会计科目代码) used by the business areas (domain.md §7).

The accounts themselves are seeded by the first migration; these names keep code readable.
"""

from __future__ import annotations

HPF_BANK_DEPOSITS = "101"  # 住房公积金存款
VALUE_ADDED_DEPOSITS = "102"  # 增值收益存款
INTEREST_RECEIVABLE = "111"  # 应收利息
OTHER_RECEIVABLES = "119"  # 其他应收款
ENTRUSTED_LOANS = "121"  # 委托贷款 (control: one subsidiary per loan)
OVERDUE_LOANS = "122"  # 逾期贷款 (control: one subsidiary per loan)
NATIONAL_DEBT = "124"  # 国家债券
DEPOSITORS_FUNDS = "201"  # 住房公积金 (control: one subsidiary per depositor)
INTEREST_PAYABLE = "211"  # 应付利息
SPECIAL_PAYABLES = "214"  # 专项应付款
PUBLIC_HOUSING_SUPPLEMENT = "21402"  # 廉租住房建设补充资金
OTHER_PAYABLES = "219"  # 其他应付款
EMPLOYER_SUSPENSE = "21901"  # 单位暂收款 (control: one subsidiary per employer)
OTHER_PAYABLES_MISC = "21999"  # 其他应付款项
LOAN_RISK_RESERVE = "301"  # 贷款风险准备
VALUE_ADDED_INCOME = "311"  # 增值收益
VALUE_ADDED_DISTRIBUTION = "321"  # 增值收益分配
BUSINESS_INCOME = "401"  # 业务收入
INCOME_HPF_DEPOSIT_INTEREST = "40101"  # 住房公积金利息收入
INCOME_VALUE_ADDED_DEPOSIT_INTEREST = "40102"  # 增值收益利息收入
INCOME_LOAN_INTEREST = "40103"  # 委托贷款利息收入
INCOME_NATIONAL_DEBT_INTEREST = "40104"  # 国家债券利息收入
INCOME_OTHER = "40199"  # 其他收入
BUSINESS_EXPENSES = "411"  # 业务支出
EXPENSE_DEPOSITOR_INTEREST = "41101"  # 住房公积金利息支出
EXPENSE_COLLECTION_FEES = "41102"  # 归集手续费支出
EXPENSE_LOAN_AGENCY_FEES = "41103"  # 委托贷款手续费支出
EXPENSE_OTHER = "41199"  # 其他支出

SUBSIDIARY_PARENTS: dict[str, str] = {
    "depositor": DEPOSITORS_FUNDS,
    "employer": EMPLOYER_SUSPENSE,
    "loan": ENTRUSTED_LOANS,
}
"""Which control account holds each kind of subsidiary ledger."""


def subsidiary_code(parent_code: str, ref: str) -> str:
    """The account code of a subsidiary account: ``201-<personal account number>``."""
    return f"{parent_code}-{ref}"
