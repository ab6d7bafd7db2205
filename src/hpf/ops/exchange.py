"""Data exchange (数据交换): the fund's data for the supervision platform, one CSV per entity, in
the field names of the national basic data standard (JGJ/T 320-2014, domain.md §2 glossary).

Where domain.md's glossary gives no field name, hpf uses the standard's customary abbreviation
(pinyin initials): DWMC 单位名称, TYSHXYDM 统一社会信用代码, DWZHZT 单位账户状态, DWKHRQ 单位开户日期,
XINGMING 姓名, ZJHM 证件号码, KHRQ 开户日期, YWLX 业务类型, FSRQ 发生日期, JZNY 缴存年月,
TQYY 提取原因, DKFFRQ 贷款发放日期, DKZT 贷款状态. Files are UTF-8 with BOM (they open in Excel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import CompoundSelect, Date, and_, case, literal, select, union_all
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.deposits.rules import share_of_base
from hpf.ledger.models import Account
from hpf.loans.models import Loan
from hpf.money import format_yuan
from hpf.tabular_safety import safe_csv_writer
from hpf.withdrawals.models import Withdrawal

CHUNK = 10_000


@dataclass(frozen=True)
class Entity:
    file: str
    name_zh: str
    columns: tuple[str, ...]


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "DW.csv", "缴存单位", ("DWZH", "DWMC", "TYSHXYDM", "DWJCBL", "GRJCBL", "DWZHZT", "DWKHRQ")
    ),
    Entity(
        "GR.csv",
        "个人账户",
        (
            "GRZH",
            "XINGMING",
            "ZJHM",
            "DWZH",
            "GRJCJS",
            "DWYJCE",
            "GRYJCE",
            "GRZHYE",
            "GRZHZT",
            "KHRQ",
        ),
    ),
    Entity("GRMX.csv", "个人账户明细", ("GRZH", "YWLX", "JZNY", "FSRQ", "FSE", "TQYY")),
    Entity(
        "DK.csv",
        "个人住房贷款",
        (
            "DKZH",
            "JKHTBH",
            "GRZH",
            "DKFFE",
            "DKYE",
            "DKLL",
            "DKQS",
            "DKHKFS",
            "YQBJZE",
            "DKFFRQ",
            "DKZT",
        ),
    ),
)

_METHOD = {"annuity": "01", "linear": "02"}  # DKHKFS: 01 等额本息, 02 等额本金 (hpf convention)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(int(fen))


def _pct(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _monthly(base: int, rate: Decimal) -> int:
    return share_of_base(int(base), rate)


def _employers(session: Session) -> Iterable[Sequence[Any]]:
    stmt = select(Employer).order_by(Employer.employer_ref).execution_options(yield_per=CHUNK)
    for e in session.scalars(stmt):
        yield (
            e.employer_ref,
            e.name,
            e.uscc,
            _pct(e.employer_rate_pct),
            _pct(e.employee_rate_pct),
            e.status,
            e.opened_on.isoformat(),
        )


def _depositors(session: Session) -> Iterable[Sequence[Any]]:
    stmt = (
        select(
            Depositor,
            Employer.employer_ref,
            Employer.employer_rate_pct,
            Employer.employee_rate_pct,
            Account.balance,
        )
        .outerjoin(Employer, Employer.id == Depositor.employer_id)
        .outerjoin(
            Account,
            and_(
                Account.subsidiary_kind == "depositor",
                Account.subsidiary_ref == Depositor.depositor_ref,
            ),
        )
        .order_by(Depositor.depositor_ref)
        .execution_options(yield_per=CHUNK)
    )
    for d, employer_ref, er, ee, balance in session.execute(stmt):
        # 201 is a liability: its subsidiaries' balances are credit (negative, debit-positive)
        yield (
            d.depositor_ref,
            d.name,
            d.id_number,
            employer_ref or "",
            _yuan(d.base_fen),
            _yuan(_monthly(d.base_fen, er)) if er is not None else "",
            _yuan(_monthly(d.base_fen, ee)) if ee is not None else "",
            _yuan(-balance if balance is not None else 0),
            d.status,
            d.opened_on.isoformat(),
        )


def _movements(session: Session) -> Iterable[Sequence[Any]]:
    contributions = (
        select(
            Depositor.depositor_ref.label("grzh"),
            Remittance.kind.label("kind"),
            Remittance.month.label("month"),
            Remittance.posted_on.label("on"),
            (RemittanceLine.employer_fen + RemittanceLine.employee_fen).label("amount"),
            literal("").label("reason"),
        )
        .select_from(RemittanceLine)
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
        .where(Remittance.status == "posted")
    )
    withdrawals = select(
        Withdrawal.depositor_ref.label("grzh"),
        case((Withdrawal.closes_account, "closing"), else_="partial").label("kind"),
        literal(None, Date).label("month"),
        Withdrawal.paid_on.label("on"),
        Withdrawal.amount_fen.label("amount"),
        Withdrawal.reason_code.label("reason"),
    ).where(Withdrawal.status == "paid")
    stmt: CompoundSelect[Any] = union_all(contributions, withdrawals)
    rows = session.execute(stmt.execution_options(yield_per=CHUNK))
    for grzh, kind, month, on, amount, reason in rows:
        if reason:  # a withdrawal: 11 部分提取, 12 销户提取
            ywlx = "12" if kind == "closing" else "11"
        else:  # 01 汇缴, 02 补缴
            ywlx = "02" if kind == "back_payment" else "01"
        yield (
            grzh,
            ywlx,
            "" if month is None else str(month)[:7].replace("-", ""),
            "" if on is None else str(on)[:10],
            _yuan(amount),
            reason or "",
        )


def _loans(session: Session) -> Iterable[Sequence[Any]]:
    stmt = (
        select(Loan)
        .where(Loan.status.in_(("approved", "active", "settled")))
        .order_by(Loan.loan_ref)
        .execution_options(yield_per=CHUNK)
    )
    for ln in session.scalars(stmt):
        yield (
            ln.loan_ref,
            ln.contract_ref or "",
            ln.depositor_ref,
            _yuan(ln.principal_fen),
            _yuan(ln.balance_fen),
            _pct(ln.annual_rate_pct),
            ln.term_months,
            _METHOD.get(ln.method, ""),
            _yuan(ln.overdue_principal_fen),
            "" if ln.disbursed_on is None else ln.disbursed_on.isoformat(),
            ln.status,
        )


_SOURCES: dict[str, Callable[[Session], Iterable[Sequence[Any]]]] = {
    "DW.csv": _employers,
    "GR.csv": _depositors,
    "GRMX.csv": _movements,
    "DK.csv": _loans,
}


def export(
    session: Session,
    directory: Path,
    actor: Principal | None = None,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write one CSV per entity into ``directory``; returns rows per file. Audited as a bulk
    export (it carries unmasked ID numbers for the supervision platform).
    """
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for entity in ENTITIES:
        n = 0
        with (directory / entity.file).open("w", encoding="utf-8-sig", newline="") as fh:
            writer = safe_csv_writer(fh)
            writer.writerow(entity.columns)
            for row in _SOURCES[entity.file](session):
                writer.writerow(row)
                n += 1
        counts[entity.file] = n
        if on_file is not None:
            on_file(entity.file)
    audit.record(
        session,
        actor=actor,
        action="exchange.export",
        object_type="exchange",
        object_id=str(directory)[-60:],
        detail=counts,
    )
    return counts
