"""The step machine of an application (业务流程): 申请 → 受理 → 复核 → 审批 → 办结.

Pure values and functions; no database. docs/decisions/0002-web-shell.md ("Workflow"),
domain.md §9. An application is submitted (申请) by its applicant and then passes through the
staff steps its route requires (受理 accept, 复核 review, 审批 approve — which of them depends on
the business type and the amount band, see ``routes.toml``); the last required step completes it
(办结). At any staff step it may be returned (退回, the applicant may resubmit and the route starts
again) or rejected (不予受理); the applicant may withdraw (撤回) it while it is not finished.

Separation of duties (不相容岗位分离): every person is bound to the first step they took part in
(the applicant to ``submit``) and may never act at another step of the same application, so a
completed application always had each of its steps taken by a different person.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from hpf.errors import DomainError, InvalidInput
from hpf.money import fen_from_yuan

# --- statuses ---------------------------------------------------------------------------------
SUBMITTED = "submitted"
ACCEPTED = "accepted"
REVIEWED = "reviewed"
APPROVED = "approved"  # never rests: approve is always the last step of a route
COMPLETED = "completed"
RETURNED = "returned"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATUS_NAMES: dict[str, tuple[str, str]] = {
    SUBMITTED: ("已申请", "submitted"),
    ACCEPTED: ("已受理", "accepted"),
    REVIEWED: ("已复核", "reviewed"),
    APPROVED: ("已审批", "approved"),
    COMPLETED: ("已办结", "completed"),
    RETURNED: ("已退回", "returned"),
    REJECTED: ("不予受理", "rejected"),
    WITHDRAWN: ("已撤回", "withdrawn"),
}
STATUSES: tuple[str, ...] = tuple(STATUS_NAMES)
TERMINAL: frozenset[str] = frozenset({COMPLETED, REJECTED, WITHDRAWN})

# --- steps and actions ------------------------------------------------------------------------
SUBMIT = "submit"
STEPS: tuple[str, ...] = ("accept", "review", "approve")
"""The staff steps, in the only order a route may take them."""
STEP_NAMES: dict[str, tuple[str, str]] = {
    SUBMIT: ("申请", "submit"),
    "accept": ("受理", "accept"),
    "review": ("复核", "review"),
    "approve": ("审批", "approve"),
}
STEP_PERMISSIONS: dict[str, str] = {
    SUBMIT: "workflow.submit",
    "accept": "workflow.accept",
    "review": "workflow.review",
    "approve": "workflow.approve",
}
_STATUS_AFTER = {"accept": ACCEPTED, "review": REVIEWED, "approve": APPROVED}
APPLICANT = "applicant"
"""What a returned application awaits: the applicant's resubmission."""

RETURN, REJECT, RESUBMIT, WITHDRAW = "return", "reject", "resubmit", "withdraw"
STAFF_ACTIONS: tuple[str, ...] = (*STEPS, RETURN, REJECT)
APPLICANT_ACTIONS: tuple[str, ...] = (SUBMIT, RESUBMIT, WITHDRAW)
ACTION_NAMES: dict[str, tuple[str, str]] = {
    SUBMIT: ("申请", "submit"),
    "accept": ("受理", "accept"),
    "review": ("复核", "review"),
    "approve": ("审批", "approve"),
    RETURN: ("退回", "return"),
    REJECT: ("不予受理", "reject"),
    RESUBMIT: ("重新提交", "resubmit"),
    WITHDRAW: ("撤回", "withdraw"),
}


# --- errors -----------------------------------------------------------------------------------
class WorkflowError(DomainError):
    """An application or one of its steps was refused (业务流程错误)."""

    code = "workflow_error"


class UnknownBusinessType(WorkflowError):
    """No business type (业务类型) of that code is registered."""

    code = "unknown_business_type"


class UnknownChannel(WorkflowError):
    """The channel (办理渠道) code is not one of the configured channels."""

    code = "unknown_channel"


class InvalidAction(WorkflowError):
    """The action does not fit the application's current status (当前状态不能办理此操作)."""

    code = "invalid_action"


class ApplicationClosed(InvalidAction):
    """The application is finished (办结, 不予受理 or 撤回) and takes no further action."""

    code = "application_closed"


class SeparationOfDuties(WorkflowError):
    """One person may not take two steps of one application (不相容岗位分离)."""

    code = "separation_of_duties"


class NotPermitted(WorkflowError):
    """The actor lacks the step's permission or the application is outside their branch."""

    code = "not_permitted"


class AlreadyInProgress(WorkflowError):
    """The applicant already has an application of this type in progress (一事一办)."""

    code = "already_in_progress"


class IdempotencyConflict(WorkflowError):
    """The idempotency key was already used for a different application (幂等键冲突)."""

    code = "idempotency_conflict"


class ApplicationNotFound(WorkflowError):
    """No application has that id (申请不存在)."""

    code = "application_not_found"


# --- channels ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Channel:
    """A channel through which an application is received (办理渠道)."""

    code: str
    name_zh: str
    name_en: str
    online: bool
    """Whether an application received here can count as handled entirely online (网办)."""


CHANNELS: dict[str, Channel] = {
    c.code: c
    for c in (
        Channel("counter", "窗口", "service counter", online=False),
        Channel("online_hall", "网厅", "online service hall", online=True),
        Channel("mobile_app", "手机APP", "mobile app", online=True),
        Channel("wechat", "微信", "WeChat", online=True),
        Channel("kiosk", "自助终端", "self-service kiosk", online=True),
        Channel("hotline", "热线", "12329 hotline", online=False),
        # Cross-region applications (跨域通办) may end at another center's counter; they count
        # as online only if nothing at all is done in person, which hpf cannot see: not online.
        Channel("cross_region", "跨域通办", "cross-region service", online=False),
    )
}


def channel(code: str) -> Channel:
    """The channel of ``code``; raises UnknownChannel."""
    found = CHANNELS.get(code)
    if found is None:
        raise UnknownChannel(
            f"未知的办理渠道：{code}（可用：{'、'.join(CHANNELS)}）",
            f"unknown channel: {code} (known: {', '.join(CHANNELS)})",
        )
    return found


def is_online_channel(code: str) -> bool:
    """True for channels where an application can be handled without a visit (网上办理)."""
    return channel(code).online


# --- routes (per business type and amount band) -----------------------------------------------
@dataclass(frozen=True)
class Band:
    """The steps required for amounts up to and including ``up_to_fen`` (None: no upper bound)."""

    up_to_fen: int | None
    steps: tuple[str, ...]


@dataclass(frozen=True)
class RouteTable:
    """Steps per business type and amount band (审批权限), with a ``default`` for other types."""

    types: Mapping[str, tuple[Band, ...]]

    def bands(self, business_type: str) -> tuple[Band, ...]:
        """The bands configured for ``business_type``, or the default ones."""
        return self.types.get(business_type) or self.types["default"]

    def steps_for(self, business_type: str, amount_fen: int) -> tuple[str, ...]:
        """The staff steps an application of this type and amount must pass."""
        for band in self.bands(business_type):
            if band.up_to_fen is None or amount_fen <= band.up_to_fen:
                return band.steps
        raise AssertionError("a route table always ends with an unbounded band")


def parse_route_table(data: Mapping[str, Any]) -> RouteTable:
    """Validate routes (as read from ``routes.toml``); raises InvalidInput naming the entry.

    Each top-level key is a business type holding a list of bands ``{up_to_yuan, steps}`` in
    ascending order of amount; the last band has no ``up_to_yuan``. ``default`` is required.
    """
    if "default" not in data:
        raise InvalidInput("流程配置缺少 default", "route table lacks a 'default' entry")
    types: dict[str, tuple[Band, ...]] = {}
    for code, raw_bands in data.items():
        if not isinstance(raw_bands, list) or not raw_bands:
            raise InvalidInput(
                f"流程配置 {code} 应为 [[{code}]] 条目列表",
                f"routes.{code}: must be [[{code}]] bands",
            )
        bands = tuple(_parse_band(f"{code}[{i}]", raw) for i, raw in enumerate(raw_bands))
        limits = [b.up_to_fen for b in bands]
        if limits[-1] is not None or any(x is None for x in limits[:-1]):
            raise InvalidInput(
                f"流程配置 {code}：只有最后一档不写 up_to_yuan",
                f"routes.{code}: only the last band has no up_to_yuan",
            )
        bounded = [x for x in limits if x is not None]
        if any(a >= b for a, b in pairwise(bounded)):
            raise InvalidInput(
                f"流程配置 {code}：金额档次须递增", f"routes.{code}: bands must ascend by amount"
            )
        types[code] = bands
    return RouteTable(types)


def _parse_band(where: str, raw: Any) -> Band:
    if not isinstance(raw, Mapping) or set(raw) - {"up_to_yuan", "steps"}:
        raise InvalidInput(
            f"流程配置 {where}：只能有 up_to_yuan 与 steps",
            f"routes.{where}: only up_to_yuan and steps are allowed",
        )
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps or not all(s in STEPS for s in steps):
        raise InvalidInput(
            f"流程配置 {where}：steps 须为 {list(STEPS)} 中的非空列表",
            f"routes.{where}: steps must be a non-empty list drawn from {list(STEPS)}",
        )
    if not is_canonical_route(steps):
        raise InvalidInput(
            f"流程配置 {where}：步骤不能重复且须按 受理→复核→审批 排列",
            f"routes.{where}: steps must be distinct and in the order accept, review, approve",
        )
    limit = raw.get("up_to_yuan")
    if isinstance(limit, bool) or (limit is not None and not isinstance(limit, (str, int))):
        raise InvalidInput(
            f"流程配置 {where}：up_to_yuan 须写成字符串金额",
            f"routes.{where}: up_to_yuan must be a yuan amount string",
        )
    return Band(None if limit is None else fen_from_yuan(limit), tuple(steps))


# --- the machine ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Taken:
    """One recorded action: the step it belongs to, the action, and who took it."""

    step: str
    action: str
    actor_id: int


@dataclass(frozen=True)
class Progress:
    """Where one application stands: its route, applicant, status and every action so far."""

    route: tuple[str, ...]
    applicant_id: int
    status: str
    history: tuple[Taken, ...]

    @property
    def awaiting(self) -> str | None:
        """The step awaited next: a staff step, ``applicant`` (returned), or None (finished)."""
        return awaiting(self.route, self.status)


def is_canonical_route(steps: Sequence[str]) -> bool:
    """True for a non-empty route of distinct staff steps in the order accept, review, approve."""
    return bool(steps) and list(steps) == [s for s in STEPS if s in steps]


def start(route: tuple[str, ...], applicant_id: int) -> Progress:
    """A newly submitted application (申请) on ``route``."""
    if not is_canonical_route(route):
        raise InvalidInput(f"无效的流程：{route}", f"invalid route: {route}")
    return Progress(route, applicant_id, SUBMITTED, (Taken(SUBMIT, SUBMIT, applicant_id),))


def awaiting(route: tuple[str, ...], status: str) -> str | None:
    """The step awaited by an application on ``route`` in ``status``."""
    if status in TERMINAL:
        return None
    if status == RETURNED:
        return APPLICANT
    if status == SUBMITTED:
        return route[0]
    done = {v: k for k, v in _STATUS_AFTER.items()}[status]
    return route[route.index(done) + 1]


def bound_step(history: tuple[Taken, ...], actor_id: int) -> str | None:
    """The step a person is bound to in this application (the first they took), if any."""
    return next((t.step for t in history if t.actor_id == actor_id), None)


def transition(progress: Progress, action: str, actor_id: int) -> Progress:
    """Apply ``action`` by ``actor_id``; raises a WorkflowError when the rules forbid it.

    Permissions and branch scope are checked by the caller (:func:`required_permission`);
    this function owns the order of steps and the separation of duties.
    """
    status = progress.status
    if status in TERMINAL:
        zh, en = STATUS_NAMES[status]
        raise ApplicationClosed(
            f"申请{zh}，不能再办理", f"the application is {en}: no more actions"
        )
    if action in APPLICANT_ACTIONS:
        return _applicant_action(progress, action, actor_id)
    if action not in STAFF_ACTIONS:
        raise InvalidAction(f"未知的操作：{action}", f"unknown action: {action}")
    pending = progress.awaiting
    assert pending is not None
    if pending == APPLICANT:
        raise InvalidAction("申请已退回，等待申请人重新提交", "returned: awaiting the applicant")
    if action in STEPS and action != pending:
        raise InvalidAction(
            f"当前应办理{STEP_NAMES[pending][0]}，不能{STEP_NAMES[action][0]}",
            f"the application awaits {pending}, not {action}",
        )
    bound = bound_step(progress.history, actor_id)
    if bound is not None and bound != pending:
        raise SeparationOfDuties(
            f"同一人不能办理同一申请的两个环节（已办理{STEP_NAMES[bound][0]}）",
            f"one person may not take two steps of one application (already took {bound})",
        )
    if action == RETURN:
        new_status = RETURNED
    elif action == REJECT:
        new_status = REJECTED
    elif pending == progress.route[-1]:
        new_status = COMPLETED
    else:
        new_status = _STATUS_AFTER[pending]
    return _advance(progress, new_status, Taken(pending, action, actor_id))


def _applicant_action(progress: Progress, action: str, actor_id: int) -> Progress:
    if actor_id != progress.applicant_id:
        raise NotPermitted("只有申请人本人可以办理", "only the applicant may do this")
    if action == WITHDRAW:
        return _advance(progress, WITHDRAWN, Taken(SUBMIT, WITHDRAW, actor_id))
    if action == RESUBMIT and progress.status == RETURNED:
        return _advance(progress, SUBMITTED, Taken(SUBMIT, RESUBMIT, actor_id))
    raise InvalidAction(
        f"当前状态（{STATUS_NAMES[progress.status][0]}）不能{ACTION_NAMES[action][0]}",
        f"cannot {action} an application that is {progress.status}",
    )


def _advance(progress: Progress, status: str, taken: Taken) -> Progress:
    return Progress(progress.route, progress.applicant_id, status, (*progress.history, taken))


def required_permission(progress: Progress, action: str) -> str | None:
    """The permission an actor needs for ``action`` now (None for the applicant's own actions)."""
    if action in APPLICANT_ACTIONS:
        return None
    pending = progress.awaiting
    return STEP_PERMISSIONS.get(pending or "")


# --- small helpers used at submission ---------------------------------------------------------
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def mobile_number(value: object) -> str:
    """A mainland China mobile number (手机号码): 11 digits starting 13–19; raises InvalidInput."""
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if not _MOBILE_RE.match(text):
        raise InvalidInput(
            f"手机号码应为11位数字且以1开头：{value!r}",
            f"a mobile number is 11 digits starting with 1: {value!r}",
        )
    return text


def request_hash(fields: Mapping[str, Any]) -> str:
    """A digest of a submission, to tell a replay from a different request under one key."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
