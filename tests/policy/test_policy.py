"""Policy parameters (政策参数): shipped defaults, effective dating, validation and the CLI.

domain.md §3–§7.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.cli import run
from hpf.config import get_settings
from hpf.errors import InvalidInput
from hpf.policy.loader import (
    SECTIONS,
    Policy,
    get_policy,
    load_policy,
    load_shipped_policy,
    parse_policy,
)

D = Decimal


def shipped_text() -> str:
    return resources.files("hpf.policy").joinpath("linyi.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_shipped_policy()


@pytest.fixture(autouse=True)
def _no_center_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("HPF_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    get_policy.cache_clear()
    yield
    get_settings.cache_clear()
    get_policy.cache_clear()


# --- shipped defaults ------------------------------------------------------------------------


def test_shipped_file_loads_every_section(policy: Policy) -> None:
    assert SECTIONS == (
        "contribution",
        "deposit_rate",
        "loan_rate",
        "loan_limit",
        "withdrawal",
        "overdue",
        "value_added",
        "interest",
    )
    assert [len(policy.history(s)) for s in SECTIONS] == [3, 2, 4, 1, 1, 1, 1, 1]
    assert load_policy().source == policy.source  # no HPF_POLICY_FILE → shipped file
    assert get_policy() is get_policy()


@pytest.mark.parametrize(
    ("day", "cap", "city", "county"),
    [
        (date(2023, 7, 1), 2_368_100, 190_000, 170_000),
        (date(2024, 6, 30), 2_368_100, 190_000, 170_000),
        (date(2024, 7, 1), 2_443_000, 201_000, 182_000),
        (date(2025, 6, 30), 2_443_000, 201_000, 182_000),
    ],
)
def test_contribution_base_by_contribution_year(
    policy: Policy, day: date, cap: int, city: int, county: int
) -> None:
    entry = policy.on(day).contribution
    assert (entry.base_cap_fen, entry.base_floor_city_fen, entry.base_floor_county_fen) == (
        cap,
        city,
        county,
    )
    assert entry.base_floor_fen(county=True) == county
    assert (entry.employer_rate_min_pct, entry.employer_rate_max_pct) == (D("5"), D("12"))
    assert (entry.employee_rate_min_pct, entry.employee_rate_max_pct) == (D("5"), D("12"))
    assert entry.rounding == "fen"
    assert entry.new_employee_start_offset_months == 1
    assert entry.remit_deadline_days == 5


def test_contribution_before_first_entry_is_refused(policy: Policy) -> None:
    snapshot = policy.on(date(2016, 6, 30))
    assert snapshot.get("contribution") is None
    with pytest.raises(InvalidInput, match="contribution") as info:
        _ = snapshot.contribution
    assert "2016-07-01" in info.value.message_zh
    assert snapshot.loan_rate.effective == date(2015, 8, 26)  # other sections still answer
    with pytest.raises(InvalidInput):
        policy.on(date(2016, 6, 30), strict=True)
    with pytest.raises(InvalidInput):
        policy.on(datetime(2023, 7, 1))
    policy.on(date(2016, 7, 1), strict=True)


@pytest.mark.parametrize(
    ("day", "current", "brought_forward"),
    [
        (date(2015, 10, 24), D("0.35"), D("1.10")),
        (date(2016, 2, 20), D("0.35"), D("1.10")),
        (date(2016, 2, 21), D("1.50"), D("1.50")),
        (date(2024, 6, 30), D("1.50"), D("1.50")),
    ],
)
def test_deposit_rate_boundary(
    policy: Policy, day: date, current: Decimal, brought_forward: Decimal
) -> None:
    snapshot = policy.on(day)
    assert snapshot.deposit_rate_pct(brought_forward=False) == current
    assert snapshot.deposit_rate_pct() == brought_forward


def test_deposit_rate_history_and_segments(policy: Policy) -> None:
    assert policy.deposit_rates() == [
        (date(2015, 10, 24), D("1.10")),
        (date(2016, 2, 21), D("1.50")),
    ]
    assert policy.deposit_rates(brought_forward=False)[0] == (date(2015, 10, 24), D("0.35"))
    assert policy.deposit_rate_segments(date(2015, 11, 1), date(2016, 6, 30)) == [
        (date(2015, 11, 1), date(2016, 2, 20), D("1.10")),
        (date(2016, 2, 21), date(2016, 6, 30), D("1.50")),
    ]
    assert policy.deposit_rate_segments(date(2023, 7, 1), date(2024, 6, 30)) == [
        (date(2023, 7, 1), date(2024, 6, 30), D("1.50"))
    ]
    assert policy.deposit_rate_segments(date(2024, 7, 1), date(2024, 6, 30)) == []
    with pytest.raises(InvalidInput):
        policy.deposit_rate_segments(date(2015, 7, 1), date(2016, 6, 30))


@pytest.mark.parametrize(
    ("day", "first_short", "first_long", "second_short", "second_long"),
    [
        (date(2015, 8, 26), "2.75", "3.25", "3.025", "3.575"),
        (date(2022, 9, 30), "2.75", "3.25", "3.025", "3.575"),
        (date(2022, 10, 1), "2.60", "3.10", "3.025", "3.575"),
        (date(2024, 5, 17), "2.60", "3.10", "3.025", "3.575"),
        (date(2024, 5, 18), "2.35", "2.85", "2.775", "3.325"),
        (date(2025, 5, 7), "2.35", "2.85", "2.775", "3.325"),
        (date(2025, 5, 8), "2.10", "2.60", "2.525", "3.075"),
    ],
)
def test_loan_rates(
    policy: Policy,
    day: date,
    first_short: str,
    first_long: str,
    second_short: str,
    second_long: str,
) -> None:
    snapshot = policy.on(day)
    assert snapshot.loan_rate_pct(False, 60) == D(first_short)
    assert snapshot.loan_rate_pct(False, 61) == D(first_long)
    assert snapshot.loan_rate_pct(True, 12) == D(second_short)
    assert snapshot.loan_rate_pct(True, 360) == D(second_long)


def test_loan_rate_term_and_repricing(policy: Policy) -> None:
    entry = policy.on(date(2024, 5, 18)).loan_rate
    assert entry.existing_loans_from() == date(2025, 1, 1)
    assert entry.reprice_if_term_over_months == 12
    with pytest.raises(InvalidInput):
        entry.rate_pct(second_home=False, term_months=0)


def test_loan_limit_and_other_sections(policy: Policy) -> None:
    snapshot = policy.on(date(2024, 7, 1))
    limit = snapshot.loan_limit
    assert limit.balance_multiple == 15
    assert limit.min_counted_balance_fen == 2_000_000
    assert limit.cap_fen(two_contributors=False) == 60_000_000
    assert limit.cap_fen(two_contributors=True) == 80_000_000
    assert limit.down_payment_pct(second_home=False, area_m2=D(90)) == 20
    assert limit.down_payment_pct(second_home=False, area_m2=D("90.01")) == 30
    assert limit.loan_to_value_share(second_home=True, area_m2=D(60)) == D("0.5")
    assert limit.third_home_allowed is False
    assert limit.repayment_capacity_share == D("0.40")
    assert limit.granularity_fen == 10_000
    assert limit.max_term_years == 30
    assert limit.max_age_at_maturity(male=True) == 65
    assert limit.max_age_at_maturity(male=False) == 60
    assert limit.min_contribution_months == 6
    w = snapshot.withdrawal
    assert (w.min_balance_fen, w.rent_cap_monthly_fen, w.rent_cap_yearly_fen) == (
        0,
        150_000,
        1_800_000,
    )
    assert w.unemployment_frozen_months == 6
    assert snapshot.overdue.penalty_factor == D("1.5") and snapshot.overdue.day_count == 360
    assert snapshot.value_added.reserve_share == D("0.60")
    assert snapshot.value_added.reserve_cap_of_loans is None
    assert snapshot.value_added.reserve_floor_of_loans == D("0.01")
    assert snapshot.interest.day_count == 360
    assert snapshot.interest.settlement_date(2024) == date(2024, 6, 30)


# --- validation ------------------------------------------------------------------------------


def _bad(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = shipped_text()
    assert old in text, old
    path = tmp_path / "center.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('employer_rate_min_pct = "5"', 'employer_rate_min_pct = "13"', "contribution] entry 1"),
        ('base_cap_yuan = "24430"', 'base_cap_yuan = "1000"', "effective 2024-07-01"),
        ('penalty_factor = "1.5"', 'penalty_factor = "1.5"\nfoo = 1', "key foo: unknown key"),
        ("effective = 2015-10-24\n", "", "key effective: missing"),
        ("effective = 2024-07-01", "effective = 2023-07-01", "duplicate effective date"),
        ('base_cap_yuan = "23681"', "base_cap_yuan = 23681.0", "float 23681.0 not allowed"),
        ('reserve_share = "0.60"', "reserve_share = 0.6", "float 0.6 not allowed"),
        ('penalty_factor = "1.5"', "penalty_factor = 1.5", "penalty_factor: float"),
        ('first_home_upto_5y_pct = "2.75"', "first_home_upto_5y_pct = 2.75", "loan_rate] entry 1"),
        ('base_cap_yuan = "23681"', 'base_cap_yuan = "23681.001"', "finer than one fen"),
        ('min_balance_yuan = "0"', 'min_balance_yuan = "-1"', "must not be negative"),
        ('min_balance_yuan = "0"', 'min_balance_yuan = "abc"', "not a number"),
        ("day_count = 360\nsettlement", "day_count = 365.0\nsettlement", "day_count"),
        ("max_term_years = 30", 'max_term_years = "30"', "valid integer"),
        ('settlement_month_day = "06-30"', 'settlement_month_day = "02-30"', "MM-DD"),
        ('rounding = "fen"', 'rounding = "jiao"', "rounding"),
        ('reserve_share = "0.60"', 'reserve_share = "60"', "between 0 and 1"),
        ("[[interest]]", "[interest]", "list of [[section]] entries"),
        ("[[interest]]", "[[interests]]", "section [interests]: unknown key"),
        ("effective = 2015-10-24", "effective = 2015-10-24T00:00:00", "effective must be a date"),
        ("effective = 2015-10-24", "effective = 2015-10-24\n[", "not valid TOML"),
    ],
)
def test_bad_file_is_refused_whole(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = _bad(tmp_path, old, new)
    with pytest.raises(InvalidInput) as info:
        load_policy(path)
    error = info.value
    assert expected in error.message_en, error.message_en
    assert str(path) in error.message_zh and "政策文件" in error.message_zh
    assert "\n" not in error.message_zh and "\n" not in error.message_en


def test_missing_section_and_missing_file(tmp_path: Path) -> None:
    text = shipped_text()
    path = tmp_path / "center.toml"
    path.write_text(text[: text.index("[[interest]]")], encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"section \[interest\]: missing"):
        load_policy(path)
    with pytest.raises(InvalidInput, match="not found"):
        load_policy(tmp_path / "absent.toml")


def test_nothing_half_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.toml"
    good.write_text(shipped_text().replace('"23681"', '"30000"'), encoding="utf-8")
    monkeypatch.setenv("HPF_POLICY_FILE", str(good))
    get_settings.cache_clear()
    before = get_policy()
    assert before.source == str(good)
    assert before.on(date(2023, 7, 1)).contribution.base_cap_fen == 3_000_000
    # a broken edit of the same file: loading it fails, the loaded policy is untouched
    good.write_text(shipped_text().replace('"23681"', "23681.5"), encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_policy(good)
    with pytest.raises(InvalidInput):
        load_policy()
    assert get_policy() is before
    assert before.on(date(2023, 7, 1)).contribution.base_cap_fen == 3_000_000


def test_amounts_as_ints_and_entries_in_any_order() -> None:
    text = shipped_text().replace('base_cap_yuan = "23681"', "base_cap_yuan = 23681")
    # move the 2016 deposit entry before the 2015 one: entries are sorted by effective date
    first = '[[deposit_rate]]\neffective = 2015-10-24\ncurrent_year_pct = "0.35"\n'
    first += 'brought_forward_pct = "1.10"\n'
    assert first in text
    text = text.replace(first, "") + "\n" + first
    policy = parse_policy(text, "test")
    assert policy.on(date(2023, 7, 1)).contribution.base_cap_fen == 2_368_100
    assert [e.effective for e in policy.history("deposit_rate")] == [
        date(2015, 10, 24),
        date(2016, 2, 21),
    ]
    with pytest.raises(InvalidInput):
        policy.history("nope")


# --- effective dating property ---------------------------------------------------------------


def _deposit_file(days: list[date]) -> str:
    text = shipped_text()
    start, end = text.index("[[deposit_rate]]"), text.index("[[loan_rate]]")
    entries = "".join(
        f'[[deposit_rate]]\neffective = {d.isoformat()}\ncurrent_year_pct = "{i % 7}"\n'
        f'brought_forward_pct = "{i}"\n\n'
        for i, d in enumerate(days)
    )
    return text[:start] + entries + text[end:]


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(
        st.dates(date(2000, 1, 1), date(2040, 12, 31)), min_size=1, max_size=8, unique=True
    ),
    query=st.dates(date(1999, 1, 1), date(2041, 12, 31)),
)
def test_on_picks_latest_entry_not_after_day(days: list[date], query: date) -> None:
    policy = parse_policy(_deposit_file(days), "generated")
    in_force = [d for d in days if d <= query]
    entry = policy.on(query).get("deposit_rate")
    if not in_force:
        assert entry is None
        with pytest.raises(InvalidInput):
            _ = policy.on(query).deposit_rate
    else:
        latest = max(in_force)
        assert entry is not None and entry.effective == latest
        assert policy.on(query).deposit_rate_pct() == D(days.index(latest))
        # the entry stays in force until the day before the next one
        later = [d for d in days if d > latest]
        if later:
            assert policy.on(min(later) - timedelta(days=1)).deposit_rate.effective == latest


@settings(max_examples=80, deadline=None)
@given(query=st.dates(date(2000, 1, 1), date(2035, 12, 31)))
def test_shipped_on_matches_brute_force(query: date) -> None:
    policy = load_shipped_policy()
    snapshot = policy.on(query)
    for section in SECTIONS:
        candidates = [e for e in policy.history(section) if e.effective <= query]
        expected = max(candidates, key=lambda e: e.effective) if candidates else None
        assert snapshot.get(section) is expected


# --- CLI -------------------------------------------------------------------------------------


def test_cli_show_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy", "show", "--on", "2023-07-01"]) == 0
    out = capsys.readouterr().out
    assert "2023-07-01" in out
    assert "缴存基数上限 (base cap): 23,681.00 元" in out
    assert "缴存基数下限·县 (base floor, county): 1,700.00 元" in out
    assert "首套·五年以下含五年 (first home, <=5y): 2.60%" in out
    assert "风险准备金提取比例 (reserve share of value-added income): 60%" in out
    assert "罚息倍数 (penalty factor): 1.5 倍" in out


def test_cli_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy", "show", "--on", "2024-07-01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"on", "source", "sections"}
    assert data["on"] == "2024-07-01"
    assert list(data["sections"]) == list(SECTIONS)
    contribution = data["sections"]["contribution"]
    assert contribution["effective"] == "2024-07-01"
    assert contribution["base_cap_yuan"] == "24430.00"
    assert contribution["base_floor_city_yuan"] == "2010.00"
    assert contribution["employer_rate_max_pct"] == "12"
    assert data["sections"]["loan_rate"]["second_home_over_5y_pct"] == "3.325"
    assert data["sections"]["deposit_rate"]["brought_forward_pct"] == "1.50"
    assert data["sections"]["value_added"]["reserve_cap_of_loans"] is None


def test_cli_show_before_contribution_and_with_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["policy", "show", "--on", "2016-02-20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sections"]["contribution"] is None
    assert data["sections"]["deposit_rate"]["current_year_pct"] == "0.35"
    assert run(["policy", "show", "--on", "2016-02-20"]) == 0
    assert "当日无生效条目 (nothing in force)" in capsys.readouterr().out
    center = tmp_path / "center.toml"
    center.write_text(shipped_text().replace('"23681"', '"25000"'), encoding="utf-8")
    assert run(["policy", "show", "--on", "2023-07-01", "--json", "--file", str(center)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sections"]["contribution"]["base_cap_yuan"] == "25000.00"
    assert data["source"] == str(center)


def test_cli_default_day_is_today(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["on"] == date.today().isoformat()


def test_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text(shipped_text(), encoding="utf-8")
    assert run(["policy", "check", str(good)]) == 0
    assert "policy file OK" in capsys.readouterr().out
    bad = _bad(tmp_path, 'reserve_share = "0.60"', "reserve_share = 0.6")
    assert run(["policy", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reserve_share" in err and "float" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "show", "--on", "2024-13-01"],
        ["policy", "show", "--file", "/nonexistent/policy.toml"],
        ["policy", "check", "/nonexistent/policy.toml"],
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("hpf: 错误 error:") and captured.err.count("\n") == 1
