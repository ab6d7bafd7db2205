"""``hpf calc loan`` and ``hpf calc interest`` through the real CLI entry point ``hpf.cli.run``."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from hpf.cli import run
from hpf.loans.rules import annuity_schedule, linear_schedule


def args(*parts: str) -> list[str]:
    """Split space-separated command-line fragments into argv."""
    return [word for part in parts for word in part.split()]


YUAN = re.compile(r"^-?\d+\.\d{2}$")
ROW_KEYS = {"n", "due_date", "payment", "principal", "interest", "balance"}


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    code = run(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def test_loan_json_shape_and_golden_values(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calc", "loan", "--principal", "1000000", "--rate", "3.1", "--months", "360"]
    data = run_json(capsys, [*argv, "--method", "annuity", "--first-due", "2023-02-20", "--json"])
    assert set(data) == {"schedule", "total_interest"}
    rows = data["schedule"]
    assert len(rows) == 360
    for k, row in enumerate(rows, start=1):
        assert set(row) == ROW_KEYS
        assert row["n"] == k and isinstance(row["n"], int)
        assert date.fromisoformat(row["due_date"]).day == 20
        for key in ROW_KEYS - {"n", "due_date"}:
            assert isinstance(row[key], str) and YUAN.match(row[key]), row[key]
        assert Decimal(row["payment"]) == Decimal(row["principal"]) + Decimal(row["interest"])
    # A = 4270.16 and the first row's split 1686.83 + 2583.33 are derived by hand and checked
    # against the Fraction oracle and numpy_financial in tests/loans/test_rules.py.
    assert rows[0] == {
        "n": 1,
        "due_date": "2023-02-20",
        "payment": "4270.16",
        "principal": "1686.83",
        "interest": "2583.33",
        "balance": "998313.17",
    }
    assert rows[-1]["due_date"] == "2053-01-20"
    assert rows[-1]["balance"] == "0.00"
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("1000000.00")
    assert Decimal(data["total_interest"]) == sum(Decimal(r["interest"]) for r in rows)


def test_loan_json_matches_the_rules_row_by_row(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        args(
            "calc loan --principal 300000 --rate 2.85 --months 24",
            "--method linear --first-due 2024-01-31 --json",
        ),
    )
    expected = linear_schedule(30_000_000, Decimal("2.85"), 24, date(2024, 1, 31))
    assert [(r["n"], r["due_date"], r["payment"], r["balance"]) for r in data["schedule"]] == [
        (e.n, e.due_date.isoformat(), f"{Decimal(e.payment) / 100:.2f}", f"{e.balance / 100:.2f}")
        for e in expected
    ]
    assert data["schedule"][1]["due_date"] == "2024-02-29"


def test_loan_principal_accepts_wan(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["calc", "loan", "--rate", "3.1", "--months", "360", "--first-due", "2023-02-20"]
    by_wan = run_json(capsys, [*base, "--principal", "100万", "--json"])
    plain = run_json(capsys, [*base, "--principal", "1,000,000", "--json"])
    assert by_wan == plain


def test_loan_linear_first_installment(capsys: pytest.CaptureFixture[str]) -> None:
    # round(1,000,000 / 360) = 2777.78; interest round(1,000,000 × 3.1 / 1200) = 2583.33.
    data = run_json(
        capsys,
        args(
            "calc loan --principal 1000000 --rate 3.1 --months 360",
            "--method linear --first-due 2023-02-20 --json",
        ),
    )
    first = data["schedule"][0]
    assert (first["principal"], first["interest"], first["payment"]) == (
        "2777.78",
        "2583.33",
        "5361.11",
    )


def test_loan_zero_rate(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        args(
            "calc loan --principal 1200 --rate 0 --months 12",
            "--first-due 2024-01-01 --json",
        ),
    )
    assert {r["payment"] for r in data["schedule"]} == {"100.00"}
    assert data["total_interest"] == "0.00"


def test_loan_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        args(
            "calc loan --principal 100万 --rate 3.1 --months 360",
            "--first-due 2023-02-20",
        )
    )
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    for header in ("期数", "还款日期", "本金", "利息"):
        assert header in out
    expected_total = sum(
        r.interest for r in annuity_schedule(100_000_000, Decimal("3.1"), 360, date(2023, 2, 20))
    )
    assert f"{expected_total // 100:,}.{expected_total % 100:02d}" in out
    assert "4,270.16" in out


INTEREST_EXAMPLE = [
    "calc",
    "interest",
    "--opening",
    "10000",
    "--txn",
    "2022-08-15:1200",
    "--txn",
    "2023-03-01:-5000",
    "--from",
    "2022-07-01",
    "--to",
    "2023-06-30",
    "--rate",
    "1.5",
]


def test_interest_golden_json(capsys: pytest.CaptureFixture[str]) -> None:
    # jishu 10,000 × 365 + 1,200 × 320 − 5,000 × 122 = 3,424,000 yuan·days;
    # interest 3,424,000 × 1.5% / 360 = 142.666... -> 142.67 (hand computation in
    # tests/interest/test_rules.py::test_golden_issue_example).
    assert run_json(capsys, [*INTEREST_EXAMPLE, "--json"]) == {
        "jishu": "3424000.00",
        "interest": "142.67",
    }


def test_interest_with_rate_change(capsys: pytest.CaptureFixture[str]) -> None:
    # 83.6166... at 1.5% plus 68.8916... at 1.75% = 152.5083... -> 152.51 (see the rules tests).
    data = run_json(capsys, [*INTEREST_EXAMPLE, "--rate-change", "2023-01-01:1.75", "--json"])
    assert data == {"jishu": "3424000.00", "interest": "152.51"}


def test_interest_plain_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(INTEREST_EXAMPLE) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "积数" in out and "3,424,000.00" in out
    assert "利息" in out and "142.67" in out


LOAN = ["calc", "loan", "--principal", "1000000", "--rate", "3.1", "--first-due", "2023-02-20"]
INTEREST = ["calc", "interest", "--opening", "10000", "--from", "2022-07-01", "--to", "2023-06-30"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([*LOAN, "--months", "0"], id="months-0"),
        pytest.param([*LOAN, "--months", "361"], id="months-361"),
        pytest.param([*LOAN, "--months", "abc"], id="months-not-a-number"),
        pytest.param([*LOAN, "--months", "12", "--method", "balloon"], id="unknown-method"),
        pytest.param(
            args(
                "calc loan --principal abc --rate 3.1 --months 12",
                "--first-due 2023-02-20",
            ),
            id="bad-principal",
        ),
        pytest.param(
            args(
                "calc loan --principal 0 --rate 3.1 --months 12",
                "--first-due 2023-02-20",
            ),
            id="zero-principal",
        ),
        pytest.param(
            args(
                "calc loan --principal 1000 --rate 3.1 --months 12",
                "--first-due 2023-02-30",
            ),
            id="bad-date",
        ),
        pytest.param(
            args(
                "calc loan --principal 1000 --rate 150 --months 12",
                "--first-due 2023-02-20",
            ),
            id="rate-out-of-range",
        ),
        pytest.param(["calc", "loan", "--rate", "3.1", "--months", "12"], id="missing-options"),
        pytest.param([*INTEREST, "--txn", "2022-06-30:100"], id="txn-before-period"),
        pytest.param([*INTEREST, "--txn", "2023-07-01:100"], id="txn-after-period"),
        pytest.param([*INTEREST, "--txn", "2022-08-15"], id="txn-without-amount"),
        pytest.param([*INTEREST, "--txn", "2022-08-15:12x"], id="txn-bad-amount"),
        pytest.param([*INTEREST, "--txn", "15/08/2022:100"], id="txn-bad-date"),
        pytest.param([*INTEREST, "--opening", "ten"], id="bad-opening"),
        pytest.param([*INTEREST, "--rate-change", "2022-07-01:1.75"], id="rate-change-at-start"),
        pytest.param([*INTEREST, "--rate-change", "2023-01-01"], id="rate-change-malformed"),
        pytest.param(
            ["calc", "interest", "--from", "2023-07-01", "--to", "2023-06-30"], id="to-before-from"
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = run(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hpf:")


# --- hpf calc loan-limit ---------------------------------------------------------------------

LIMIT = args(
    "calc loan-limit --balance 50000 --contribution-months 24 --price 100万 --area 120",
    "--age 35 --sex male --monthly-contribution 1200 --employer-rate 12 --employee-rate 12",
    "--debt 500 --date 2024-06-01",
)


def test_loan_limit_json_golden(capsys: pytest.CaptureFixture[str]) -> None:
    # wage 1,200 / 24% = 5,000, employer 600: (5,600) × 40% − 500 = 1,740 a month; at 2.85%
    # over 360 months that repays 420,740.88 (tests/loans/test_limit.py) -> 420,700.
    data = run_json(capsys, [*LIMIT, "--json"])
    assert data["eligible"] is True
    assert data["limit"] == "420700.00"
    assert data["binding_constraint"] == "repayment_capacity"
    assert data["binding_constraints"] == ["repayment_capacity"]
    assert {k: v["amount"] for k, v in data["constraints"].items()} == {
        "loan_to_value": "700000.00",
        "balance": "750000.00",
        "cap": "600000.00",
        "repayment_capacity": "420740.88",
    }
    assert (data["term_months"], data["max_term_months"], data["term_limited_by"]) == (
        360,
        360,
        "max_term",
    )
    assert (data["rate_pct"], data["down_payment_pct"]) == ("2.85", "30")
    assert YUAN.match(data["monthly_payment"]) and Decimal(data["monthly_payment"]) <= 1740
    assert data["policy_date"] == "2024-06-01" and data["refusals"] == []
    assert data["reasons"][0]["code"] == "binding_repayment_capacity"
    assert all({"code", "zh", "en"} == set(r) for r in data["reasons"])


def test_loan_limit_spouse_and_wage_route(capsys: pytest.CaptureFixture[str]) -> None:
    # Wage 20,000 at 12% (employer 2,400); spouse with 30,000 and 24 months: two contributors,
    # (50,000 + 30,000) × 15 = 1,200,000; price 2,000,000 at 140 m² × 70% = 1,400,000: the
    # two-contributor cap 800,000 binds.
    data = run_json(
        capsys,
        args(
            "calc loan-limit --balance 50000 --contribution-months 24 --price 2000000",
            "--area 140 --age 35 --sex 女 --monthly-income 20000 --employer-rate 12",
            "--spouse-balance 30000 --spouse-contribution-months 24 --date 2025-06-01 --json",
        ),
    )
    assert data["limit"] == "800000.00" and data["binding_constraint"] == "cap"
    assert data["two_contributors"] is True
    assert data["constraints"]["balance"]["amount"] == "1200000.00"
    # a woman of 35: 60 − 35 = 25 years = 300 months; the 2025-05-08 rate 2.60%.
    assert (data["term_months"], data["term_limited_by"], data["rate_pct"]) == (300, "age", "2.60")


def test_loan_limit_refusal_is_reported_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, [*LIMIT, "--home", "3", "--json"])
    assert data["eligible"] is False and data["limit"] == "0.00"
    assert data["binding_constraint"] is None and data["constraints"] == {}
    assert [r["code"] for r in data["refusals"]] == ["third_home"]


def test_loan_limit_plain_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(LIMIT) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "420,700.00" in out and "repayment_capacity" in out and "还款能力" in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([*LIMIT, "--sex", "x"], id="bad-sex"),
        pytest.param([*LIMIT, "--area", "big"], id="bad-area"),
        pytest.param([*LIMIT, "--area", "0"], id="zero-area"),
        pytest.param([*LIMIT, "--home", "two"], id="home-not-a-number"),
        pytest.param([*LIMIT, "--home", "0"], id="home-zero"),
        pytest.param([*LIMIT, "--age", "10"], id="too-young"),
        pytest.param([*LIMIT, "--months", "0"], id="term-zero"),
        pytest.param([*LIMIT, "--date", "2024-13-01"], id="bad-date"),
        pytest.param([*LIMIT, "--date", "2009-01-01"], id="no-policy-yet"),
        pytest.param([*LIMIT, "--price", "abc"], id="bad-price"),
        pytest.param([*LIMIT, "--monthly-income", "5000"], id="contribution-and-income"),
        pytest.param([*LIMIT, "--spouse-balance", "1000"], id="spouse-without-months"),
        pytest.param([*LIMIT, "--spouse-contribution-months", "12"], id="spouse-without-balance"),
        pytest.param([*LIMIT, "--employer-rate", "150"], id="rate-out-of-range"),
        pytest.param(
            args(
                "calc loan-limit --balance 50000 --contribution-months 24 --price 100万",
                "--area 120 --age 35 --sex male",
            ),
            id="no-income",
        ),
        pytest.param(
            args(
                "calc loan-limit --balance 50000 --contribution-months 24 --price 100万",
                "--area 120 --age 35 --sex male --monthly-contribution 1200",
            ),
            id="contribution-without-rates",
        ),
        pytest.param(["calc", "loan-limit", "--balance", "1000"], id="missing-options"),
    ],
)
def test_loan_limit_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = run(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hpf:")
