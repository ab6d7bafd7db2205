"""Policy parameters (政策参数): loading a policy file and picking the entries in force on a day.

domain.md §3–§7. The shipped Linyi defaults live in ``hpf/policy/linyi.toml``. A center's own file
(``HPF_POLICY_FILE``, see :mod:`hpf.config`) **replaces the shipped file entirely**: it must contain
every section; nothing is merged. Loading is all-or-nothing: a file with any error raises
:class:`~hpf.errors.InvalidInput` naming the section and entry, and no partial policy is returned.

In force on a day: for each section, the entry with the latest ``effective`` date on or before that
day. :meth:`Policy.on` returns a :class:`PolicySnapshot`; reading a section with nothing in force
that day (e.g. contribution caps before the first dated entry) raises ``InvalidInput``.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from hpf.errors import InvalidInput
from hpf.policy.schema import (
    SECTION_LABELS,
    SECTION_MODELS,
    ContributionEntry,
    DepositRateEntry,
    InterestEntry,
    LoanLimitEntry,
    LoanRateEntry,
    OverdueEntry,
    PolicyDocument,
    PolicyEntry,
    ServiceEntry,
    TomlFloat,
    ValueAddedEntry,
    WithdrawalEntry,
)

SHIPPED_FILE = "linyi.toml"
SHIPPED_SOURCE = "hpf/policy/linyi.toml（内置 shipped）"
SECTIONS: tuple[str, ...] = tuple(SECTION_MODELS)

E = TypeVar("E", bound=PolicyEntry)

_GENERIC: dict[str, tuple[str, str]] = {
    "missing": ("缺少必填项", "missing"),
    "extra_forbidden": ("未知的键", "unknown key"),
    "tuple_type": ("应写成 [[节]] 条目列表", "must be a list of [[section]] entries"),
    "model_type": ("应为一个表（键 = 值）", "must be a table of key = value"),
    "model_attributes_type": ("应为一个表（键 = 值）", "must be a table of key = value"),
    "int_type": ("应为整数", "must be an integer"),
    "bool_type": ("应为 true 或 false", "must be true or false"),
    "string_type": ("应为字符串", "must be a string"),
    "literal_error": ("取值不在允许范围内", "value not allowed"),
    "greater_than": ("取值过小", "value too small"),
    "greater_than_equal": ("取值过小", "value too small"),
    "less_than_equal": ("取值过大", "value too large"),
}

# Problems with the shape of the file: the offending value is not worth quoting.
_STRUCTURAL = {"missing", "extra_forbidden", "tuple_type", "model_type", "model_attributes_type"}


class PolicySnapshot:
    """The entries of every section in force on one day (read-only)."""

    def __init__(
        self,
        day: date,
        entries: Mapping[str, PolicyEntry | None],
        earliest: Mapping[str, date],
        source: str,
    ) -> None:
        self.day = day
        self.source = source
        self._entries = dict(entries)
        self._earliest = dict(earliest)

    def get(self, section: str) -> PolicyEntry | None:
        """The entry of ``section`` in force that day, or None when nothing is in force yet."""
        if section not in SECTION_MODELS:
            raise InvalidInput(
                f"未知的政策参数节：{section!r}", f"unknown policy section: {section!r}"
            )
        return self._entries[section]

    def in_force(self) -> dict[str, PolicyEntry | None]:
        """Section name → entry in force (None when nothing is in force that day), in file order."""
        return {section: self._entries[section] for section in SECTIONS}

    def require(self, section: str, kind: type[E]) -> E:
        """The entry of ``section`` in force that day; InvalidInput when there is none."""
        entry = self.get(section)
        if entry is None:
            label = SECTION_LABELS[section]
            first = self._earliest[section]
            raise InvalidInput(
                f"{self.day} 没有生效的政策参数：{label}（最早条目自 {first} 起生效）",
                f"no {section} policy entry in force on {self.day} (earliest takes effect {first})",
            )
        if not isinstance(entry, kind):  # pragma: no cover - guarded by SECTION_MODELS
            raise TypeError(f"{section} entry is {type(entry).__name__}, not {kind.__name__}")
        return entry

    @property
    def contribution(self) -> ContributionEntry:
        return self.require("contribution", ContributionEntry)

    @property
    def deposit_rate(self) -> DepositRateEntry:
        return self.require("deposit_rate", DepositRateEntry)

    @property
    def loan_rate(self) -> LoanRateEntry:
        return self.require("loan_rate", LoanRateEntry)

    @property
    def loan_limit(self) -> LoanLimitEntry:
        return self.require("loan_limit", LoanLimitEntry)

    @property
    def withdrawal(self) -> WithdrawalEntry:
        return self.require("withdrawal", WithdrawalEntry)

    @property
    def overdue(self) -> OverdueEntry:
        return self.require("overdue", OverdueEntry)

    @property
    def value_added(self) -> ValueAddedEntry:
        return self.require("value_added", ValueAddedEntry)

    @property
    def interest(self) -> InterestEntry:
        return self.require("interest", InterestEntry)

    def loan_rate_pct(self, second_home: bool, term_months: int) -> Decimal:
        """Annual loan rate in % for new loans that day (term ≤ 60 months → the ≤5-year band)."""
        return self.loan_rate.rate_pct(second_home=second_home, term_months=term_months)

    def deposit_rate_pct(self, *, brought_forward: bool = True) -> Decimal:
        """Annual deposit rate in % that day (brought-forward balances or current-year deposits)."""
        return self.deposit_rate.rate_pct(brought_forward=brought_forward)


class Policy:
    """A validated policy file: every section's effective-dated entries, oldest first."""

    def __init__(self, document: PolicyDocument, source: str) -> None:
        self.document = document
        self.source = source
        self._dates = {
            section: [entry.effective for entry in document.entries(section)]
            for section in SECTIONS
        }

    def history(self, section: str) -> tuple[PolicyEntry, ...]:
        """All entries of ``section``, oldest first (typed: ``policy.document.<section>``)."""
        return self.document.entries(section)

    def entry_on(self, section: str, day: date) -> PolicyEntry | None:
        """The entry of ``section`` in force on ``day`` (latest with effective <= day), or None."""
        entries = self.document.entries(section)
        index = bisect_right(self._dates[section], day)
        return entries[index - 1] if index else None

    def service_on(self, day: date) -> ServiceEntry:
        """The ``[[service]]`` entry in force on ``day`` (the earliest one before any is)."""
        entries = self.document.service
        chosen = entries[0]
        for entry in entries:
            if entry.effective <= day:
                chosen = entry
        return chosen

    def on(self, day: date, *, strict: bool = False) -> PolicySnapshot:
        """What is in force on ``day``; ``strict`` raises at once if a section has nothing then."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidInput(f"应为日期：{day!r}", f"expected a date: {day!r}")
        snapshot = PolicySnapshot(
            day,
            {section: self.entry_on(section, day) for section in SECTIONS},
            {section: dates[0] for section, dates in self._dates.items()},
            self.source,
        )
        if strict:
            for section in SECTIONS:
                snapshot.require(section, SECTION_MODELS[section])
        return snapshot

    def deposit_rates(self, *, brought_forward: bool = True) -> list[tuple[date, Decimal]]:
        """Deposit-rate history as (effective date, annual %) pairs, oldest first.

        ``brought_forward=False`` gives the rate of deposits of the current interest year (0.35 %
        before 2016-02-21); the default gives the rate of balances brought forward.
        """
        return [
            (entry.effective, entry.rate_pct(brought_forward=brought_forward))
            for entry in self.document.deposit_rate
        ]

    def deposit_rate_segments(
        self, start: date, end: date, *, brought_forward: bool = True
    ) -> list[tuple[date, date, Decimal]]:
        """Split ``start``..``end`` (both included) into (from, to, annual %) pieces of one rate.

        For a rate change inside an interest period (domain.md §4): compute each piece's unrounded
        jishu × rate / 360 and round once. Empty when ``end < start``.
        """
        if end < start:
            return []
        if self.entry_on("deposit_rate", start) is None:
            first = self._dates["deposit_rate"][0]
            raise InvalidInput(
                f"{start} 没有生效的存款利率（最早自 {first} 起）",
                f"no deposit rate in force on {start} (earliest {first})",
            )
        pieces: list[tuple[date, date, Decimal]] = []
        entries = self.document.deposit_rate
        for index, entry in enumerate(entries):
            next_start = entries[index + 1].effective if index + 1 < len(entries) else None
            piece_from = max(start, entry.effective)
            piece_to = end if next_start is None else min(end, next_start - timedelta(days=1))
            if piece_from <= piece_to:
                pieces.append(
                    (piece_from, piece_to, entry.rate_pct(brought_forward=brought_forward))
                )
        return pieces


def parse_policy(text: str, source: str = "<text>") -> Policy:
    """Validate policy TOML text; InvalidInput (naming section and entry) on any error."""
    try:
        raw = tomllib.loads(text, parse_float=TomlFloat)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"政策文件 {source} 不是有效的 TOML：{exc}",
            f"policy file {source} is not valid TOML: {exc}",
        ) from None
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        zh, en = _describe(exc, raw)
        raise InvalidInput(
            f"政策文件 {source} 有误：{zh}", f"invalid policy file {source}: {en}"
        ) from None
    return Policy(document, source)


def load_policy(path: Path | None = None) -> Policy:
    """Load ``path``; None → ``HPF_POLICY_FILE`` if set → the shipped Linyi defaults."""
    if path is None:
        from hpf.config import get_settings

        path = get_settings().policy_file
    if path is None:
        return load_shipped_policy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"找不到政策文件：{path}", f"policy file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"无法读取政策文件 {path}：{exc}", f"cannot read policy file {path}: {exc}"
        ) from None
    return parse_policy(text, str(path))


def load_shipped_policy() -> Policy:
    """The shipped Linyi defaults (``hpf/policy/linyi.toml``), whatever the settings say."""
    text = resources.files("hpf.policy").joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    return parse_policy(text, SHIPPED_SOURCE)


@lru_cache(maxsize=1)
def get_policy() -> Policy:
    """The process-wide policy (loaded once; ``get_policy.cache_clear()`` to reload)."""
    return load_policy()


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> tuple[str, str]:
    """One-line Chinese and English descriptions of a validation error's first few problems."""
    errors = exc.errors()
    parts_zh: list[str] = []
    parts_en: list[str] = []
    for error in errors[:5]:
        where_zh, where_en = _where(error["loc"], raw)
        ctx = error.get("ctx") or {}
        if "zh" in ctx and "en" in ctx:
            what_zh, what_en = str(ctx["zh"]), str(ctx["en"])
        else:
            what_zh, what_en = _GENERIC.get(error["type"], ("取值无效", "invalid value"))
            if error["type"] not in _STRUCTURAL:
                got = _short(error["input"])
                what_zh = f"{what_zh}：{got}"
                what_en = f"{error['msg']} (got {got})"
        parts_zh.append(f"{where_zh}：{what_zh}")
        parts_en.append(f"{where_en}: {what_en}")
    if len(errors) > 5:
        parts_zh.append(f"另有 {len(errors) - 5} 处错误")
        parts_en.append(f"and {len(errors) - 5} more")
    return "；".join(parts_zh), "; ".join(parts_en)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> tuple[str, str]:
    """Describe an error location: section, entry number (1-based) with its effective date, key."""
    if not loc:
        return "文件", "file"
    section = str(loc[0])
    zh, en = f"[{section}] 节", f"section [{section}]"
    rest = loc[1:]
    if rest and isinstance(rest[0], int):
        number = rest[0]
        effective: Any = None
        items = raw.get(section)
        if isinstance(items, list) and number < len(items) and isinstance(items[number], dict):
            effective = items[number].get("effective")
        zh = f"{zh}第 {number + 1} 条"
        en = f"{en} entry {number + 1}"
        if effective is not None:
            zh, en = f"{zh}（生效 {effective}）", f"{en} (effective {effective})"
        rest = rest[1:]
    if rest:
        key = ".".join(str(part) for part in rest)
        zh, en = f"{zh}键 {key}", f"{en}, key {key}"
    return zh, en
