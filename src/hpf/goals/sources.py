"""Where each bound indicator's actual comes from (实际完成值的数据来源): one function per binding.

Money, counts and ratios of the books are reckoned exactly as the annual report reckons them
(:mod:`hpf.report.annual`, docs/annual-report.md), over January 1 … the day asked for, so a
full-year actual equals the report's figure. Hotline, e-audit and operations indicators read
the indicator functions of those areas (domain.md §9). A source that is not there raises
:class:`NoDataSource`; the evaluation then falls back to values entered by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from hpf.dates import add_months, month_end
from hpf.errors import DomainError
from hpf.money import FEN_PER_YUAN, format_yuan
from hpf.policy.loader import Policy
from hpf.report import indicators as ind


class NoDataSource(DomainError):
    """The indicator has no data source (yet): enter its actual by hand (暂无数据来源)."""

    code = "goal_no_data_source"


@dataclass(frozen=True)
class Period:
    """January 1 of ``year`` to ``end`` (inclusive)."""

    year: int
    end: date
    policy: Policy

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def complete(self) -> bool:
        return self.end >= date(self.year, 12, 31)


@dataclass(frozen=True)
class Actual:
    """An actual: ``value`` normalized (yuan, units, fraction) or None; ``met`` for a
    qualitative target (None when it is judged by comparing ``value``)."""

    value: Decimal | None
    text: str
    evidence: str
    met: bool | None = None


def _yuan(fen: int) -> Actual:
    return Actual(
        Decimal(fen) / FEN_PER_YUAN, f"{format_yuan(fen)}元", "总账记账凭证 ledger postings"
    )


def _ratio(value: Decimal | None, evidence: str) -> Actual:
    if value is None:
        return Actual(None, "无数据 no data", evidence)
    return Actual(value, f"{ind.text(value)}", evidence)


def contributions(session: Session, p: Period) -> Actual:
    """缴存额 = deposits.contributions of the annual report."""
    from hpf.report.annual import deposit_movements

    return _yuan(deposit_movements(session, p.start, p.end).contributions)


def withdrawals(session: Session, p: Period) -> Actual:
    """提取额 = withdrawals.amount."""
    from hpf.report.annual import deposit_movements

    return _yuan(deposit_movements(session, p.start, p.end).withdrawals)


def interest_paid(session: Session, p: Period) -> Actual:
    """利息支出 (个人结息) = deposits.interest_credited."""
    from hpf.report.annual import deposit_movements

    return _yuan(deposit_movements(session, p.start, p.end).interest)


def new_depositors(session: Session, p: Period) -> Actual:
    """新开户职工人数 = deposits.new_depositors (first-contribution months of the period)."""
    from hpf.deposits import stats

    n = sum(r.new_depositors for r in stats.monthly(session, p.start, p.end))
    return Actual(Decimal(n), f"{n}人", "缴存月度统计 monthly deposit summary")


def loans_issued(session: Session, p: Period) -> Actual:
    """个贷发放金额 = loans.issued_amount."""
    from hpf.loans import stats

    count, fen = stats.issued_in(session, p.start, p.end)
    return Actual(
        Decimal(fen) / FEN_PER_YUAN, f"{format_yuan(fen)}元（{count}笔）", "贷款发放记录 loans"
    )


def overdue_ratio(session: Session, p: Period) -> Actual:
    """逾期率 = risk.overdue_ratio at the end of the period."""
    from hpf.loans import stats

    overdue = sum(stats.overdue_amounts(session, p.end).values())
    balance = sum(stats.loan_balances(session, p.end).values())
    evidence = f"逾期额 {format_yuan(overdue)}元 / 个贷余额 {format_yuan(balance)}元"
    if balance == 0:  # the ratio is undefined (null, as in the annual report); nothing is overdue
        return Actual(None, "无贷款余额 no loan balance", evidence, overdue == 0)
    return _ratio(ind.overdue_ratio(overdue, balance), evidence)


def value_added_distributed(session: Session, p: Period) -> Actual:
    """增值收益分配完成额 = Σ finance.distribution: posted distribution journals, or, for a
    full year not yet distributed, what the rules give (as the annual report shows it)."""
    from hpf.finance.statements import distributed
    from hpf.finance.value_added import distribution_of, planned

    if distribution_of(session, p.year) is not None or not p.complete:
        fen = sum(distributed(session, p.start, p.end).values())
        return _yuan(fen)
    plan, _, _ = planned(session, p.year, p.policy, 0)
    fen = plan.reserve_fen + plan.management_fen + plan.supplement_fen
    a = _yuan(fen)
    return Actual(a.value, a.text, "按规则测算（尚未分配） planned, not yet distributed")


def satisfaction_rate(session: Session, p: Period) -> Actual:
    """满意率 = (满意 + 基本满意) / 回访成功 (hpf.service_desk.stats)."""
    try:
        from hpf.service_desk import stats
    except ImportError as exc:  # pragma: no cover - the area is optional
        raise _missing("service_desk.stats") from exc
    t = stats.indicators(session, p.start, p.end)
    evidence = f"回访成功 {t.callbacks_reached} 件：满意 {t.satisfied}，基本满意 {t.basic}"
    return _ratio(ind.ratio(t.satisfied + t.basic, t.callbacks_reached), evidence)


def call_reply_rate(session: Session, p: Period) -> Actual:
    """来电答复率 = calls answered on time / all calls (hpf.service_desk.stats)."""
    try:
        from hpf.service_desk import stats
    except ImportError as exc:  # pragma: no cover
        raise _missing("service_desk.stats") from exc
    t = stats.indicators(session, p.start, p.end)
    evidence = f"来电 {t.calls} 个，按时答复 {t.calls_replied_on_time} 个"
    return _ratio(ind.ratio(t.calls_replied_on_time, t.calls), evidence)


def online_rate(session: Session, p: Period) -> Actual:
    """网办率 = applications handled entirely online / all handled (hpf.workflow.stats)."""
    from hpf.workflow import stats

    online, total = stats.online_rate(session, p.start, p.end)
    return _ratio(ind.ratio(online, total), f"办结业务 {total} 笔，全程网办 {online} 笔")


def system_stability(session: Session, p: Period) -> Actual:
    """系统稳定性: met when no major incident stopped a business line (hpf.ops.incidents)."""
    try:
        from hpf.ops.incidents import stability
    except ImportError as exc:  # pragma: no cover
        raise _missing("ops.incidents.stability") from exc
    s = stability(session, p.start, p.end)
    text = "未发生影响业务系统运行的重大事故" if s.met else f"发生重大事故 {s.major} 起"
    evidence = (
        f"事故记录：重大 {s.major}，较大 {s.significant}，一般 {s.minor}；"
        f"停办 {s.major_minutes} 分钟"
    )
    return Actual(None, text, evidence, s.met)


def data_security(session: Session, p: Period) -> Actual:
    """数据安全性: no confirmed data leak and a backup every month (hpf.ops.security)."""
    try:
        from hpf.ops.security import data_security as indicator
    except ImportError as exc:  # pragma: no cover
        raise _missing("ops.security.data_security") from exc
    d = indicator(session, p.start, p.end)
    text = "无数据泄露等事故发生" if d.leaks == 0 else f"发生数据泄露 {d.leaks} 起"
    evidence = f"安全事件 {d.by_kind or {}}；有备份的月份 {d.months_with_backup}/{d.months}"
    return Actual(None, text, evidence, d.met)


def eaudit_completion(session: Session, p: Period) -> Actual:
    """电子稽核: every month's run complete and every suspicious item closed within its
    deadline (hpf.eaudit.service.indicator), over the months ended by the period's end."""
    try:
        from hpf.eaudit.service import indicator
    except ImportError as exc:  # pragma: no cover
        raise _missing("eaudit.service.indicator") from exc
    last = p.end.replace(day=1)
    if p.end != month_end(p.end):
        last = add_months(last, -1)
    if last < p.start:
        return Actual(None, "尚无完整月份 no month ended yet", "电子稽核运行记录", None)
    e = indicator(session, p.start, last, p.end)
    met = e.months_run == e.months and e.closed_late == 0 and e.open_overdue == 0
    text = (
        f"{e.months_run}/{e.months} 个月完成电子稽核；疑点 {e.items} 个，按期整改 "
        f"{e.closed_on_time}，逾期整改 {e.closed_late}，逾期未整改 {e.open_overdue}"
    )
    return Actual(None, text, "电子稽核运行与疑点整改记录 audit runs and items", met)


def manual(session: Session, p: Period) -> Actual:
    """No data source: the actual is entered by hand (hpf goals actual)."""
    raise _missing("manual")


def _missing(what: str) -> NoDataSource:
    return NoDataSource(
        f"暂无数据来源（{what}），请手工录入实际值及佐证",
        f"no data source yet ({what}); enter the actual value with evidence by hand",
    )
