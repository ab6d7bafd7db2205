"""The simulated city's service side for one month (模拟城市·服务): hotline tickets, callbacks,
the e-audit run and the closure of its items, the odd incident and a few security events.

Volumes (placeholders; no public Linyi figure, domain.md §9):
- tickets: :data:`TICKETS_PER_YEAR` = 36,000 a year at scale 1.0 (≈ 0.8 M depositors), i.e.
  3,000 a month — one ticket a year per ~22 depositors, the order of magnitude city 12329 lines
  report for 工单 (calls the agent settles on the spot without a ticket are not modelled) —
  scaled linearly, Poisson-distributed, never fewer than :data:`MIN_TICKETS` a month;
- channels 62 % 12329, 13 % 12345, 25 % web messages; categories mostly enquiries;
- every ticket is assigned within half an hour and answered inside its policy deadline (the
  seed's 100 % call reply rate); every answered ticket is called back within three days and
  :data:`CALLBACK_REACH` of callbacks reach the person; ratings are allocated so that
  (满意 + 基本满意) / reached is the ``satisfaction_target`` up to one rating (stochastic rounding);
- the month's e-audit run happens on the 3rd of the next month (the real rules over the month's
  books); each item is assigned that day, explained or rectified and closed before its deadline;
- an incident in :data:`INCIDENT_MONTHLY_P` of months, never a major one (the seed: zero
  business stops), resolved within four hours; a Poisson number of security events entered by
  hand (mean :data:`SECURITY_EVENTS_MEAN`), never a data leak.

Deterministic given ``rng``: every choice is drawn from it in a fixed order, every stamp derives
from ``month``; tickets go in through :func:`hpf.service_desk.bulk.record_platform_tickets`
(one INSERT), the e-audit and incidents through their use cases. Commits nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy
from sqlalchemy.orm import Session

from hpf.auth.principal import system_principal
from hpf.dates import add_months, month_end
from hpf.eaudit import service as eaudit
from hpf.eaudit.models import SuspiciousItem
from hpf.errors import InvalidInput
from hpf.ops import incidents, security
from hpf.org.service import list_units
from hpf.policy.loader import Policy, get_policy
from hpf.service_desk import rules
from hpf.service_desk.bulk import PlatformTicket, record_platform_tickets
from hpf.workflow.stats import BUSINESS_TZ

TICKETS_PER_YEAR = 36_000
MIN_TICKETS = 5
CALLBACK_REACH = 0.88
INCIDENT_MONTHLY_P = 0.08
SECURITY_EVENTS_MEAN = 1.5
AUDIT_RUN_DAY = 3

CHANNEL_MIX = (("12329", 0.62), ("12345", 0.13), ("web", 0.25))
CATEGORY_MIX = (
    ("consult", 0.68),
    ("help", 0.12),
    ("suggestion", 0.05),
    ("complaint", 0.10),
    ("report", 0.02),
    ("praise", 0.03),
)
TOPICS: dict[str, tuple[str, ...]] = {
    "consult": (
        "提取条件咨询",
        "贷款额度咨询",
        "缴存基数调整咨询",
        "异地转移接续咨询",
        "网上业务大厅操作咨询",
        "贷款利率咨询",
    ),
    "help": ("账户密码重置求助", "单位未及时缴存求助", "提取资金未到账求助"),
    "suggestion": ("增加自助终端网点建议", "优化网厅提取流程建议"),
    "complaint": ("提取办理时限投诉", "窗口服务态度投诉", "热线占线投诉"),
    "report": ("单位未足额缴存举报", "骗提公积金举报"),
    "praise": ("窗口服务表扬", "热线耐心解答表扬"),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
INCIDENT_TITLES = (
    ("online", "网上业务大厅响应缓慢"),
    ("hotline", "12329热线部分坐席话务中断"),
    ("deposit", "银行到账回单文件延迟"),
)
SECURITY_KINDS = (
    ("access_denied", "防火墙拦截异常访问"),
    ("signin_failure", "外部地址连续尝试登录网厅"),
    ("other", "U盾证书到期提醒未处理"),
)


def _moment(day: date, seconds: int) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ) + timedelta(seconds=seconds)


def _pick(rng: numpy.random.Generator, mix: tuple[tuple[str, float], ...], n: int) -> list[str]:
    codes = [c for c, _ in mix]
    weights = numpy.array([w for _, w in mix], dtype=float)
    return [codes[i] for i in rng.choice(len(codes), size=n, p=weights / weights.sum())]


def _ratings(rng: numpy.random.Generator, reached: int, target: Decimal) -> list[str]:
    """``reached`` ratings, a share ``target`` of them 满意/基本满意 (stochastically rounded)."""
    exact = float(target) * reached
    good = int(exact) + (1 if rng.random() < exact - int(exact) else 0)
    good = max(0, min(reached, good))
    basic = int(rng.binomial(good, 0.25)) if good else 0
    out = ["satisfied"] * (good - basic) + ["basic"] * basic + ["unsatisfied"] * (reached - good)
    return [out[i] for i in rng.permutation(reached)]


def _tickets(
    session: Session,
    month: date,
    scale: float,
    rng: numpy.random.Generator,
    satisfaction_target: Decimal,
    policy: Policy,
) -> list[PlatformTicket]:
    expected = TICKETS_PER_YEAR / 12 * max(scale, 0.0)
    n = max(MIN_TICKETS, int(rng.poisson(expected)))
    days = month_end(month).day
    branches = [u.id for u in list_units(session) if u.kind == "branch"]
    agents = [f"客服{k:02d}" for k in range(1, max(2, round(40 * scale)) + 1)]
    channels = _pick(rng, CHANNEL_MIX, n)
    categories = _pick(rng, CATEGORY_MIX, n)
    day_of = rng.integers(0, days, size=n)
    second_of = rng.integers(8 * 3600, 18 * 3600, size=n)
    reached_flags = rng.random(size=n) < CALLBACK_REACH
    ratings = iter(_ratings(rng, int(reached_flags.sum()), satisfaction_target))
    out: list[PlatformTicket] = []
    for k in range(n):
        day = month + timedelta(days=int(day_of[k]))
        received = _moment(day, int(second_of[k]))
        category = categories[k]
        entry = policy.service_on(day)
        window = rules.reply_days(entry.ticket_reply_days, category) * 86_400
        assigned = received + timedelta(seconds=int(rng.integers(120, 1_800)))
        # answered after assignment and inside the deadline (a 0-day deadline: at assignment)
        reply_after = max(0, int(rng.uniform(0.05, 0.9) * window) - 1_800)
        deadline = received + timedelta(seconds=window)
        replied = min(assigned + timedelta(seconds=reply_after), deadline)
        replied = max(replied, received)
        called = replied + timedelta(seconds=int(rng.integers(4 * 3600, 72 * 3600)))
        reached = bool(reached_flags[k])
        topics = TOPICS[category]
        prefix = "WEB" if channels[k] == "web" else channels[k]
        out.append(
            PlatformTicket(
                ticket_no=f"{prefix}-{month:%Y%m}-{k + 1:06d}",
                channel=channels[k],
                category=category,
                topic=topics[int(rng.integers(0, len(topics)))],
                received_at=received,
                branch_id=branches[int(rng.integers(0, len(branches)))] if branches else None,
                caller_name=SURNAMES[int(rng.integers(0, len(SURNAMES)))]
                + ("先生" if rng.random() < 0.5 else "女士"),
                caller_phone=f"1{int(rng.integers(30, 90))}{int(rng.integers(0, 10**8)):08d}",
                assignee=agents[int(rng.integers(0, len(agents)))],
                assigned_at=assigned,
                replied_at=replied,
                reply="已按政策答复来电人",
                replied_by="12329平台",
                callback_at=called,
                callback_reached=reached,
                rating=next(ratings) if reached else None,
            )
        )
    return out


def _eaudit(session: Session, month: date, rng: numpy.random.Generator, policy: Policy) -> None:
    on = add_months(month, 1).replace(day=AUDIT_RUN_DAY)
    actor = system_principal("sim-auditor")
    at = _moment(on, 9 * 3600)
    eaudit.run_month(session, month, policy, on=on, actor=actor, now=at)
    items = eaudit.list_items(session, month=month, status="open")
    for item in items:
        _close_item(session, item, on, rng)


def _close_item(
    session: Session, item: SuspiciousItem, on: date, rng: numpy.random.Generator
) -> None:
    actor = system_principal("sim-auditor")
    room = max(0, (item.due_on - on).days)
    respond_in = int(rng.integers(0, max(1, room * 2 // 3) + 1))
    close_in = respond_in + int(rng.integers(0, max(1, room - respond_in) + 1))
    close_in = min(close_in, room)
    responded, closed = on + timedelta(respond_in), on + timedelta(close_in)
    eaudit.assign(session, item.id, "稽核专员", on, actor, now=_moment(on, 10 * 3600))
    rectified = bool(rng.random() < 0.4)
    eaudit.respond(
        session,
        item.id,
        rectified=rectified,
        text="已更正业务数据" if rectified else "经核实业务真实，已附情况说明",
        on=responded,
        actor=actor,
        now=_moment(responded, 15 * 3600),
    )
    eaudit.close(
        session,
        item.id,
        evidence="核查记录及佐证材料已归档",
        on=closed,
        actor=actor,
        now=_moment(closed, 16 * 3600),
    )


def _operations(session: Session, month: date, rng: numpy.random.Generator) -> None:
    actor = system_principal("sim-ops")
    days = month_end(month).day
    if rng.random() < INCIDENT_MONTHLY_P:
        line, title = INCIDENT_TITLES[int(rng.integers(0, len(INCIDENT_TITLES)))]
        severity = "significant" if rng.random() < 0.3 else "minor"
        occurred = _moment(
            month + timedelta(int(rng.integers(0, days))), int(rng.integers(0, 86_400))
        )
        resolved = occurred + timedelta(minutes=int(rng.integers(20, 240)))
        row = incidents.log_incident(
            session,
            occurred_at=occurred,
            severity=severity,
            title=title,
            business_line=line,
            actor=actor,
            now=occurred,
        )
        incidents.resolve_incident(
            session,
            row.id,
            resolved_at=resolved,
            cause="外部依赖短时故障",
            actions="切换备用链路并复核业务数据",
            actor=actor,
            now=resolved,
        )
    for _ in range(int(rng.poisson(SECURITY_EVENTS_MEAN))):
        kind, detail = SECURITY_KINDS[int(rng.integers(0, len(SECURITY_KINDS)))]
        at = _moment(month + timedelta(int(rng.integers(0, days))), int(rng.integers(0, 86_400)))
        security.record_event(session, kind=kind, at=at, detail=detail, actor=actor, now=at)


def simulate_service_month(
    session: Session,
    *,
    month: date,
    scale: float,
    rng: numpy.random.Generator,
    satisfaction_target: Decimal,
    policy: Policy | None = None,
) -> None:
    """One calendar month of the city's service side (see the module docstring for volumes)."""
    month = month.replace(day=1)
    if not Decimal(0) <= satisfaction_target <= Decimal(1):
        raise InvalidInput(
            f"满意度目标应在 0 到 1 之间：{satisfaction_target}",
            f"satisfaction_target must be a fraction, got {satisfaction_target}",
        )
    policy = policy or get_policy()
    tickets = _tickets(session, month, scale, rng, satisfaction_target, policy)
    record_platform_tickets(
        session,
        tickets,
        system_principal("sim-hotline"),
        policy=policy,
        batch=f"sim-{month:%Y-%m}",
        now=_moment(month_end(month), 20 * 3600),
    )
    _eaudit(session, month, rng, policy)
    _operations(session, month, rng)
