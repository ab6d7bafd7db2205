"""Withdrawal rules (提取规则): who may withdraw how much, and why not (domain.md §5, 条例 art. 24).

Pure domain logic over plain values: :func:`evaluate` takes a request, the facts of the person's
account and the policy entry in force, and returns a :class:`Decision` with the approved amount or
every reason for refusal, each in plain Chinese and English. The parameters (documents, windows,
frequency limits, caps, the minimum balance, rent caps) come from the ``[[withdrawal]]`` policy
entry, so a center changes them without code; the reason codes (JGJ/T 320 A.7) are fixed here.

Loans are a later issue: the loans of the person and of the spouse reach these rules as plain
:class:`LoanFact` values (the seam), whoever supplies them.

Amount rules:
- closing types (retirement, incapacity, emigration, death; any type the policy marks
  ``closes_account``) pay the whole balance; the minimum balance does not apply;
- partial types pay at most ``balance − min_balance`` and at most the type's own bound (price
  minus other withdrawals against the contract, cost, loan outstanding, rent caps, the policy cap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

from hpf.dates import add_months
from hpf.money import format_yuan
from hpf.policy.schema import WithdrawalEntry, WithdrawalTypeRule


class WithdrawalType(StrEnum):
    """提取类型; the values are the policy's ``[withdrawal.types.<value>]`` names."""

    PURCHASE = "purchase"
    BUILD = "build"
    LOAN_REPAYMENT = "loan_repayment"
    RENT = "rent"
    RETIREMENT = "retirement"
    INCAPACITY = "incapacity"
    EMIGRATION = "emigration"
    DEATH = "death"
    SUBSISTENCE = "subsistence"
    UNEMPLOYMENT = "unemployment"
    ELEVATOR = "elevator"
    SERIOUS_ILLNESS = "serious_illness"


@dataclass(frozen=True)
class TypeInfo:
    """Names, the JGJ/T 320 A.7 reason code (提取原因) and what the evidence fields mean."""

    name_zh: str
    name_en: str
    reason_code: str
    event_zh: str = ""
    """What ``event_date`` is for this type ("" = not used)."""
    cost_zh: str = ""
    """What ``cost_fen`` is for this type ("" = not used)."""


TYPES: dict[WithdrawalType, TypeInfo] = {
    WithdrawalType.PURCHASE: TypeInfo(
        "购买住房", "home purchase", "01", "购房合同签订日", "购房总价"
    ),
    WithdrawalType.BUILD: TypeInfo(
        "建造、翻建、大修住房", "building or overhauling a home", "02", "批准日", "工程费用"
    ),
    WithdrawalType.RETIREMENT: TypeInfo("离休、退休", "retirement", "03", "退休日"),
    WithdrawalType.INCAPACITY: TypeInfo(
        "完全丧失劳动能力", "complete loss of working capacity", "04", "鉴定日"
    ),
    WithdrawalType.EMIGRATION: TypeInfo("出境定居", "settling abroad", "05", "户籍注销日"),
    WithdrawalType.LOAN_REPAYMENT: TypeInfo("偿还购房贷款", "home loan repayment", "06"),
    WithdrawalType.RENT: TypeInfo("租房", "rent", "07", "", "已付房租"),
    WithdrawalType.DEATH: TypeInfo("死亡或被宣告死亡", "death and inheritance", "08", "死亡日"),
    WithdrawalType.SERIOUS_ILLNESS: TypeInfo(
        "重大疾病", "serious illness", "09", "诊断日", "个人负担医疗费用"
    ),
    WithdrawalType.SUBSISTENCE: TypeInfo(
        "享受最低生活保障", "subsistence allowance", "99", "低保证发证日"
    ),
    WithdrawalType.UNEMPLOYMENT: TypeInfo(
        "离职封存", "unemployment after leaving an employer", "99"
    ),
    WithdrawalType.ELEVATOR: TypeInfo(
        "既有住宅加装电梯", "elevator retrofit", "99", "批准日", "个人分摊费用"
    ),
}

OPEN_STATUSES = frozenset({"01", "02"})
"""GRZHZT 正常 and 封存: withdrawals are possible; 06 冻结 and the closed statuses are not."""


def parse_type(code: str) -> WithdrawalType:
    """The type of a code such as ``rent``; ValueError for anything else."""
    return WithdrawalType(code.strip())


@dataclass(frozen=True)
class LoanFact:
    """A home loan as the rules see it (the seam to the loans area).

    ``borrower_ids`` are the ID numbers of the borrower and co-borrowers; ``kind`` ``hpf`` is a
    住房公积金贷款, ``commercial`` a bank's loan shown by its contract.
    """

    loan_ref: str
    kind: Literal["hpf", "commercial"]
    borrower_ids: frozenset[str]
    outstanding_fen: int


@dataclass(frozen=True)
class PriorWithdrawal:
    """An earlier withdrawal of the same person that still counts (not refused, failed, …)."""

    type: WithdrawalType
    on: date
    amount_fen: int


@dataclass(frozen=True)
class Request:
    """What the person asks for, with the evidence the documents show.

    ``amount_fen`` None asks for the most allowed. ``event_date`` and ``cost_fen`` mean what
    :data:`TYPES` says for the type (contract date and price for a purchase, …).
    """

    type: WithdrawalType
    on: date
    amount_fen: int | None = None
    documents: frozenset[str] = frozenset()
    event_date: date | None = None
    cost_fen: int | None = None
    contract_ref: str | None = None
    rent_months: int = 0
    loan_ref: str | None = None
    spouse_id: str | None = None
    heir_id: str | None = None
    owns_home: bool = False


@dataclass(frozen=True)
class AccountFacts:
    """The person's account as the database shows it at the time of the check.

    ``loans``: the loans of the person and of the spouse. ``contract_used_fen``: what everyone
    has withdrawn (or has in progress) against ``Request.contract_ref``, this request excluded;
    ``contract_price_fen``: the price an earlier application declared for that contract.
    """

    id_number: str
    status: str
    balance_fen: int
    frozen_on: date | None = None
    prior: tuple[PriorWithdrawal, ...] = ()
    loans: tuple[LoanFact, ...] = ()
    contract_used_fen: int = 0
    contract_price_fen: int | None = None


@dataclass(frozen=True)
class Refusal:
    """One reason a withdrawal is refused, with a stable code."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Decision:
    """The outcome of the automatic check (自动审核)."""

    type: WithdrawalType
    reason_code: str
    closes_account: bool
    limit_fen: int
    """The most that may be withdrawn (0 when ineligible)."""
    amount_fen: int
    """The approved amount; 0 when refused."""
    refusals: tuple[Refusal, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def text_zh(self) -> str:
        if self.allowed:
            return f"符合{TYPES[self.type].name_zh}提取条件，可提取 {_yuan(self.amount_fen)} 元"
        return "；".join(r.zh for r in self.refusals)

    @property
    def text_en(self) -> str:
        if self.allowed:
            return f"eligible: {_yuan(self.amount_fen)} yuan may be withdrawn"
        return "; ".join(r.en for r in self.refusals)


def _yuan(fen: int) -> str:
    return format_yuan(fen, grouping=True)


def _months_zh(n: int) -> str:
    return f"{n} 个月"


class _Check:
    """Collects refusals and the amount bounds while a request is evaluated."""

    def __init__(self) -> None:
        self.refusals: list[Refusal] = []
        self.bounds: list[tuple[int, str, str]] = []

    def refuse(self, code: str, zh: str, en: str) -> None:
        self.refusals.append(Refusal(code, zh, en))

    def bound(self, fen: int, zh: str, en: str) -> None:
        self.bounds.append((max(fen, 0), zh, en))


def evaluate(request: Request, account: AccountFacts, policy: WithdrawalEntry) -> Decision:
    """Check ``request`` against the account and the policy; never raises for a business reason."""
    info = TYPES[request.type]
    rule: WithdrawalTypeRule = getattr(policy.types, request.type.value)
    check = _Check()
    if not rule.enabled:
        check.refuse(
            "type_disabled",
            f"本中心暂不办理{info.name_zh}提取",
            f"the center does not handle {info.name_en} withdrawals",
        )
    _check_status(check, account)
    _check_documents(check, request, rule)
    _check_window(check, request, rule, info)
    _ELIGIBILITY[request.type](check, request, account, policy)
    _check_frequency(check, request, account, rule, info)
    limit = _limit(check, request, account, policy, rule)
    amount = 0
    if not check.refusals:
        amount = _amount(check, request, limit, rule.closes_account)
    return Decision(
        request.type,
        info.reason_code,
        rule.closes_account,
        0 if check.refusals else limit,
        0 if check.refusals else amount,
        tuple(check.refusals),
    )


# --- common checks ----------------------------------------------------------------------------


def _check_status(check: _Check, account: AccountFacts) -> None:
    if account.status == "06":
        check.refuse(
            "account_blocked",
            "个人账户已冻结（司法或中心冻结），不能提取",
            "the account is blocked (冻结) by a court or the center",
        )
    elif account.status not in OPEN_STATUSES:
        check.refuse("account_closed", "个人账户已销户，不能提取", "the account is closed")


def _check_documents(check: _Check, request: Request, rule: WithdrawalTypeRule) -> None:
    missing = [doc for doc in rule.documents if doc not in request.documents]
    if missing:
        check.refuse(
            "documents_missing",
            f"缺少申请材料：{'、'.join(missing)}",
            f"documents missing: {', '.join(missing)}",
        )


def _check_window(
    check: _Check, request: Request, rule: WithdrawalTypeRule, info: TypeInfo
) -> None:
    if not info.event_zh:
        return
    if request.event_date is None:
        check.refuse(
            "event_date_missing", f"请填写{info.event_zh}", "the date of the event is required"
        )
        return
    if request.event_date > request.on:
        check.refuse(
            "event_in_future",
            f"{info.event_zh}（{request.event_date}）晚于申请日，尚不能提取",
            f"the event date {request.event_date} is after the application date",
        )
    elif rule.window_months and add_months(request.event_date, rule.window_months) < request.on:
        check.refuse(
            "event_too_old",
            f"{info.event_zh}（{request.event_date}）距申请日已超过 {_months_zh(rule.window_months)}",
            f"the event ({request.event_date}) is more than {rule.window_months} months ago",
        )


def _check_frequency(
    check: _Check,
    request: Request,
    account: AccountFacts,
    rule: WithdrawalTypeRule,
    info: TypeInfo,
) -> None:
    same = [p for p in account.prior if p.type == request.type]
    if rule.max_times_per_year:
        this_year = [p for p in same if p.on.year == request.on.year]
        if len(this_year) >= rule.max_times_per_year:
            check.refuse(
                "too_often_year",
                f"{request.on.year} 年已办理{info.name_zh}提取 {len(this_year)} 次，"
                f"每年最多 {rule.max_times_per_year} 次",
                f"{len(this_year)} {info.name_en} withdrawals in {request.on.year} already; "
                f"at most {rule.max_times_per_year} a year",
            )
    if rule.min_interval_months and same:
        last = max(p.on for p in same)
        next_day = add_months(last, rule.min_interval_months)
        if request.on < next_day:
            check.refuse(
                "too_soon",
                f"上次{info.name_zh}提取在 {last}，须间隔 {_months_zh(rule.min_interval_months)}，"
                f"{next_day} 起可再次申请",
                f"last {info.name_en} withdrawal on {last}; the next is possible from {next_day}",
            )


def _limit(
    check: _Check,
    request: Request,
    account: AccountFacts,
    policy: WithdrawalEntry,
    rule: WithdrawalTypeRule,
) -> int:
    """The most that may be withdrawn; for a closing type the whole balance."""
    if account.balance_fen <= 0:
        check.refuse("no_balance", "账户余额为零，无可提取金额", "the balance is zero")
        return 0
    if rule.closes_account:
        return account.balance_fen
    check.bound(
        account.balance_fen - policy.min_balance_fen,
        f"账户余额 {_yuan(account.balance_fen)} 元减最低留存 {_yuan(policy.min_balance_fen)} 元",
        f"balance {_yuan(account.balance_fen)} less the minimum balance "
        f"{_yuan(policy.min_balance_fen)}",
    )
    if rule.cap_fen:
        check.bound(rule.cap_fen, "单次提取上限", "the cap per withdrawal")
    fen, zh, en = min(check.bounds, key=lambda bound: bound[0])
    if fen <= 0 and not check.refusals:
        check.refuse(
            "nothing_to_withdraw", f"可提取金额为零（{zh}）", f"nothing to withdraw ({en})"
        )
    return fen


def _amount(check: _Check, request: Request, limit: int, closes: bool) -> int:
    if closes:
        return limit
    if request.amount_fen is None:
        return limit
    if request.amount_fen <= 0:
        check.refuse("amount_not_positive", "提取金额必须大于零", "the amount must be positive")
        return 0
    if request.amount_fen > limit:
        _fen, zh, en = min(check.bounds, key=lambda bound: bound[0])
        check.refuse(
            "amount_over_limit",
            f"申请金额 {_yuan(request.amount_fen)} 元超过可提取上限 {_yuan(limit)} 元（{zh}）",
            f"the amount {_yuan(request.amount_fen)} exceeds the limit {_yuan(limit)} ({en})",
        )
        return 0
    return request.amount_fen


# --- eligibility per type ---------------------------------------------------------------------


def _cost(check: _Check, request: Request, what_zh: str, what_en: str) -> int | None:
    if request.cost_fen is None or request.cost_fen <= 0:
        check.refuse("cost_missing", f"请填写{what_zh}", f"the {what_en} is required")
        return None
    return request.cost_fen


def _purchase(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    if not r.contract_ref:
        check.refuse(
            "contract_missing", "请填写购房合同编号", "the purchase contract number is required"
        )
    price = _cost(check, r, "购房总价", "price")
    if price is None or not r.contract_ref:
        return
    if a.contract_price_fen is not None and a.contract_price_fen != price:
        check.refuse(
            "contract_price_mismatch",
            f"购房合同 {r.contract_ref} 此前申报的房价为 {_yuan(a.contract_price_fen)} 元，"
            f"与本次 {_yuan(price)} 元不符",
            f"contract {r.contract_ref} was declared earlier at {_yuan(a.contract_price_fen)}",
        )
        return
    remaining = price - a.contract_used_fen
    if remaining <= 0:
        check.refuse(
            "contract_used_up",
            f"购房合同 {r.contract_ref} 已提取 {_yuan(a.contract_used_fen)} 元，达到房价，不能再次使用",
            f"contract {r.contract_ref} has already been used up to its price",
        )
    check.bound(
        remaining,
        f"房价 {_yuan(price)} 元减同一合同已提取 {_yuan(a.contract_used_fen)} 元",
        f"price {_yuan(price)} less {_yuan(a.contract_used_fen)} withdrawn on the contract",
    )


def _build(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    cost = _cost(check, r, "工程费用", "building cost")
    if cost is not None:
        check.bound(cost, f"工程费用 {_yuan(cost)} 元", f"the cost {_yuan(cost)}")


def _family(a: AccountFacts, r: Request) -> frozenset[str]:
    ids = {a.id_number}
    if r.spouse_id:
        ids.add(r.spouse_id)
    return frozenset(ids)


def _loan_repayment(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    if not r.loan_ref:
        check.refuse("loan_missing", "请填写借款合同编号", "the loan contract number is required")
        return
    loan = next((loan for loan in a.loans if loan.loan_ref == r.loan_ref), None)
    if loan is None or not loan.borrower_ids & _family(a, r):
        check.refuse(
            "loan_not_own",
            f"借款合同 {r.loan_ref} 不是本人或配偶的住房贷款，不能提取还贷",
            f"loan {r.loan_ref} is not a home loan of the person or the spouse",
        )
        return
    if loan.outstanding_fen <= 0:
        check.refuse(
            "loan_repaid", f"贷款 {r.loan_ref} 已还清", f"loan {r.loan_ref} is fully repaid"
        )
        return
    check.bound(
        loan.outstanding_fen,
        f"贷款余额 {_yuan(loan.outstanding_fen)} 元",
        f"the loan outstanding {_yuan(loan.outstanding_fen)}",
    )


def _rent(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    family = _family(a, r)
    if any(
        loan.kind == "hpf" and loan.outstanding_fen > 0 and loan.borrower_ids & family
        for loan in a.loans
    ):
        check.refuse(
            "hpf_loan_outstanding",
            "本人或配偶有未还清的住房公积金贷款，不能办理租房提取",
            "the person or the spouse has an HPF loan outstanding: no rent withdrawal",
        )
    if r.owns_home:
        check.refuse("owns_home", "本人名下有自有住房，不能办理租房提取", "the person owns a home")
    if not 1 <= r.rent_months <= 12:
        check.refuse(
            "rent_months", "租房提取的月数应为 1 到 12 个月", "rent months must be 1 to 12"
        )
        return
    paid = _cost(check, r, "已付房租", "rent paid")
    if paid is not None:
        check.bound(paid, f"已付房租 {_yuan(paid)} 元", f"rent paid {_yuan(paid)}")
    monthly = p.rent_cap_monthly_fen * r.rent_months
    check.bound(
        monthly,
        f"每月上限 {_yuan(p.rent_cap_monthly_fen)} 元 × {r.rent_months} 个月",
        f"monthly cap {_yuan(p.rent_cap_monthly_fen)} × {r.rent_months} months",
    )
    used = sum(x.amount_fen for x in a.prior if x.type == r.type and x.on.year == r.on.year)
    check.bound(
        p.rent_cap_yearly_fen - used,
        f"年度上限 {_yuan(p.rent_cap_yearly_fen)} 元减 {r.on.year} 年已提取 {_yuan(used)} 元",
        f"yearly cap {_yuan(p.rent_cap_yearly_fen)} less {_yuan(used)} withdrawn in {r.on.year}",
    )
    if used >= p.rent_cap_yearly_fen:
        check.refuse(
            "rent_year_used_up",
            f"{r.on.year} 年租房提取已达年度上限 {_yuan(p.rent_cap_yearly_fen)} 元",
            f"the yearly rent cap of {_yuan(p.rent_cap_yearly_fen)} is used up for {r.on.year}",
        )


def _nothing(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    """Retirement, emigration, subsistence: the dated document is the whole condition."""


def _incapacity(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    if a.status != "02":
        check.refuse(
            "still_employed",
            "完全丧失劳动能力提取须已与单位终止劳动关系（账户封存）",
            "the employment must have ended (account frozen, 封存)",
        )


def _death(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    if not r.heir_id or r.heir_id == a.id_number:
        check.refuse("heir_missing", "请填写继承人身份证号", "the heir's ID number is required")


def _unemployment(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
    months = p.unemployment_frozen_months
    if a.status != "02" or a.frozen_on is None:
        check.refuse(
            "not_frozen",
            "离职提取须账户处于封存状态（已离职且未再就业）",
            "the account must be frozen (left the employer, no new one)",
        )
        return
    ready = add_months(a.frozen_on, months)
    if r.on < ready:
        check.refuse(
            "frozen_too_short",
            f"账户于 {a.frozen_on} 封存，须封存满 {_months_zh(months)}，{ready} 起可申请",
            f"frozen on {a.frozen_on}: {months} months needed, possible from {ready}",
        )


Eligibility = Callable[[_Check, Request, AccountFacts, WithdrawalEntry], None]


def _cost_bound(what_zh: str, what_en: str) -> Eligibility:
    def rule(check: _Check, r: Request, a: AccountFacts, p: WithdrawalEntry) -> None:
        cost = _cost(check, r, what_zh, what_en)
        if cost is not None:
            check.bound(cost, f"{what_zh} {_yuan(cost)} 元", f"the {what_en} {_yuan(cost)}")

    return rule


_ELIGIBILITY: dict[WithdrawalType, Eligibility] = {
    WithdrawalType.PURCHASE: _purchase,
    WithdrawalType.BUILD: _build,
    WithdrawalType.LOAN_REPAYMENT: _loan_repayment,
    WithdrawalType.RENT: _rent,
    WithdrawalType.RETIREMENT: _nothing,
    WithdrawalType.INCAPACITY: _incapacity,
    WithdrawalType.EMIGRATION: _nothing,
    WithdrawalType.DEATH: _death,
    WithdrawalType.SUBSISTENCE: _nothing,
    WithdrawalType.UNEMPLOYMENT: _unemployment,
    WithdrawalType.ELEVATOR: _cost_bound("个人分摊费用", "share of the cost"),
    WithdrawalType.SERIOUS_ILLNESS: _cost_bound("个人负担医疗费用", "own medical costs"),
}


# --- standing monthly withdrawals for a loan (约定提取还贷) -------------------------------------


def check_standing_order(
    account: AccountFacts,
    *,
    loan_ref: str,
    monthly_fen: int,
    spouse_id: str | None,
    policy: WithdrawalEntry,
) -> tuple[Refusal, ...]:
    """Whether a standing monthly withdrawal may be set up; the refusals (empty = allowed).

    The loan must be a loan of the person or the spouse with something outstanding; the monthly
    amount must be positive and at most the outstanding amount.
    """
    check = _Check()
    if not policy.standing_order_allowed:
        check.refuse("standing_disabled", "本中心暂不办理约定提取还贷", "standing orders are off")
    if not policy.types.loan_repayment.enabled:
        check.refuse("type_disabled", "本中心暂不办理偿还贷款提取", "loan repayment is off")
    _check_status(check, account)
    request = Request(
        WithdrawalType.LOAN_REPAYMENT, date.min, loan_ref=loan_ref, spouse_id=spouse_id
    )
    _loan_repayment(check, request, account, policy)
    if monthly_fen <= 0:
        check.refuse(
            "amount_not_positive", "每月提取金额必须大于零", "the monthly amount must be positive"
        )
    elif check.bounds and monthly_fen > check.bounds[0][0]:
        check.refuse(
            "amount_over_limit",
            f"每月提取金额 {_yuan(monthly_fen)} 元超过贷款余额 {_yuan(check.bounds[0][0])} 元",
            "the monthly amount exceeds the loan outstanding",
        )
    return tuple(check.refusals)


def standing_installment(balance_fen: int, monthly_fen: int, policy: WithdrawalEntry) -> int:
    """What one monthly run takes: the agreed amount, at most the balance above the minimum."""
    return max(0, min(monthly_fen, balance_fen - policy.min_balance_fen))
