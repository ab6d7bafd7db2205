"""The uploaded remittance list (汇缴清册): reading CSV/xlsx, row checks, rejections, reports.

Pure tests over in-memory bytes: no database. Amounts are checked against an independent oracle
(``Fraction``-based half-up rounding) as well as ``monthly_amounts``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.deposits.remittance_file import (
    EmployeeOnFile,
    ParsedRemittance,
    RemittanceContext,
    RemittanceFileRejected,
    RowError,
    draft_rows,
    error_report_csv,
    read_remittance_file,
    template_csv,
)
from hpf.deposits.rules import ContributionLimits, Rounding, monthly_amounts
from hpf.identifiers import make_id_number
from hpf.money import format_yuan

HEADER = ["个人账号", "身份证号", "姓名", "缴存基数", "单位月缴存额", "个人月缴存额"]
LIMITS = ContributionLimits(
    employer_rate_min_pct=Decimal(5),
    employer_rate_max_pct=Decimal(12),
    employee_rate_min_pct=Decimal(5),
    employee_rate_max_pct=Decimal(12),
    base_cap_fen=2_443_000,
    base_floor_fen=201_000,
)
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳娜娜", "买买提·艾力"]


def person(i: int, base_fen: int = 500_000, name: str | None = None) -> EmployeeOnFile:
    """Depositor ``i`` (unique ID numbers for i below a million)."""
    birth = date(1960, 1, 1) + timedelta(days=i // 500)
    id_number = make_id_number("371302", birth, (i % 500) * 2, male=i % 2 == 0)
    return EmployeeOnFile(f"P{i:06d}", id_number, name or NAMES[i % len(NAMES)], base_fen)


STAFF = [person(1, 500_000), person(2, 812_345), person(3, 201_000), person(4, 2_443_000)]
STRANGER = person(900)
ELSEWHERE = person(901)


def context(staff: Sequence[EmployeeOnFile] = STAFF, **changes: object) -> RemittanceContext:
    ctx = RemittanceContext(
        employer_ref="E000001",
        employer_name="临沂市某某有限公司",
        month=date(2024, 8, 1),
        employer_rate_pct=Decimal(12),
        employee_rate_pct=Decimal(12),
        limits=LIMITS,
        employees={p.id_number: p for p in staff},
        other_employer_ids=lambda id_number: (
            "E999999" if id_number == ELSEWHERE.id_number else None
        ),
    )
    return replace(ctx, **changes)  # type: ignore[arg-type]


def line(p: EmployeeOnFile, ctx: RemittanceContext, base_fen: int | None = None) -> list[str]:
    """A correct line for ``p`` (at ``base_fen`` or the record base)."""
    base = p.base_fen if base_fen is None else base_fen
    amounts = monthly_amounts(
        base, ctx.employer_rate_pct, ctx.employee_rate_pct, ctx.limits.rounding
    )
    return [
        p.depositor_ref,
        p.id_number,
        p.name,
        format_yuan(base),
        format_yuan(amounts.employer_fen),
        format_yuan(amounts.employee_fen),
    ]


def to_csv(
    rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER, encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def oracle_total(bases: Sequence[int], ctx: RemittanceContext) -> int:
    """Σ employer + employee shares, half-up to the fen (or yuan), from Fractions: no shared code."""
    unit = 1 if ctx.limits.rounding == "fen" else 100
    total = 0
    for base in bases:
        for rate in (ctx.employer_rate_pct, ctx.employee_rate_pct):
            exact = Fraction(base) * Fraction(rate) / 100 / unit
            total += int(exact + Fraction(1, 2)) * unit  # non-negative: floor(x + 1/2) is half-up
    return total


def codes(parsed: ParsedRemittance) -> list[tuple[int, str]]:
    return [(e.line_no, e.code) for e in parsed.errors]


def rejected(
    data: bytes, filename: str = "list.csv", ctx: RemittanceContext | None = None
) -> RemittanceFileRejected:
    with pytest.raises(RemittanceFileRejected) as info:
        read_remittance_file(data, filename, ctx or context())
    assert info.value.message_zh and info.value.message_en
    return info.value


# --- valid files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_valid_csv_in_each_encoding_is_accepted_with_totals(encoding: str) -> None:
    ctx = context()
    parsed = read_remittance_file(
        to_csv([line(p, ctx) for p in STAFF], encoding=encoding), "清册.csv", ctx
    )
    assert parsed.ok, parsed.errors
    assert [r.depositor_ref for r in parsed.rows] == [p.depositor_ref for p in STAFF]
    assert [r.line_no for r in parsed.rows] == [2, 3, 4, 5]
    assert [r.name for r in parsed.rows] == [p.name for p in STAFF]
    assert parsed.total_fen == oracle_total([p.base_fen for p in STAFF], ctx)
    assert parsed.employer_total_fen + parsed.employee_total_fen == parsed.total_fen
    assert parsed.rows[1].employer_fen == 97_481  # 8123.45 × 12% = 974.814 -> 974.81
    assert parsed.absent == ()


def test_valid_xlsx_is_accepted_with_numbers_text_and_formula_noise() -> None:
    ctx = context()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    p1, p2, p3, p4 = STAFF
    sheet.append([p1.depositor_ref, p1.id_number, p1.name, 5000, 600, 600.0])  # ints and a float
    sheet.append([p2.depositor_ref, p2.id_number, p2.name, "8,123.45", "974.81", Decimal("974.81")])
    sheet.append([None, None, None, None])  # a blank row still counts as a line
    sheet.append([p3.depositor_ref, p3.id_number, p3.name, 2010.0, 241.20000000000002, 241.2])
    sheet.append([p4.depositor_ref, p4.id_number.lower(), p4.name, 24430, 2931.6, 2931.6])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = read_remittance_file(buffer.getvalue(), "清册.XLSX", ctx)
    assert parsed.ok, parsed.errors
    assert [r.line_no for r in parsed.rows] == [2, 3, 5, 6]
    assert parsed.total_fen == oracle_total([p.base_fen for p in STAFF], ctx)


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_id_stored_as_number_and_third_decimal_are_row_errors() -> None:
    p1, p2 = STAFF[:2]
    data = xlsx(
        [
            [p1.depositor_ref, float(p1.id_number[:17]) * 10, p1.name, 5000, 600, 600],
            [p2.depositor_ref, p2.id_number, p2.name, 8123.45, 974.814, 974.81],
        ]
    )
    parsed = read_remittance_file(data, "a.xlsx", context())
    assert codes(parsed) == [(2, "id_mangled"), (3, "amount_precision")]
    assert not parsed.ok


def test_english_and_alias_headers_title_row_and_tabs_are_accepted() -> None:
    ctx = context()
    english = to_csv(
        [line(p, ctx)[1:] for p in STAFF],
        ["id_number", "name", "base", "employer_amount", "employee_amount"],
    )
    assert read_remittance_file(english, "a.csv", ctx).ok
    aliases = ["证件号码", " 姓名 ", "*基数(元)", "单位缴存额（元）", "个人缴存额", "备注"]
    body = [[*line(p, ctx)[1:], "备注"] for p in STAFF]
    titled = "临沂市某某有限公司 2024年8月汇缴清册\n".encode() + to_csv(body, aliases)
    parsed = read_remittance_file(titled, "a.csv", ctx)
    assert parsed.ok, parsed.errors
    assert parsed.rows[0].line_no == 3  # the title is line 1, the header line 2
    tabbed = to_csv([line(p, ctx) for p in STAFF]).replace(b",", b"\t")
    assert read_remittance_file(tabbed, "a.csv", ctx).ok


def test_id_written_as_excel_text_full_width_or_lower_case_is_accepted() -> None:
    ctx = context()
    p1, p2, p3, p4 = STAFF
    rows = [line(p, ctx) for p in STAFF]
    rows[0][1] = f'="{p1.id_number}"'
    rows[1][1] = "'" + p2.id_number
    rows[2][1] = p3.id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    rows[3][1] = "\t" + p4.id_number.lower() + " "
    parsed = read_remittance_file(to_csv(rows), "a.csv", ctx)
    assert parsed.ok, parsed.errors


# --- whole-file rejections ---------------------------------------------------------------------


def test_size_is_checked_first_before_anything_is_decoded() -> None:
    ctx = context(max_bytes=1024)
    assert rejected(b"\xff" * 1025, "list.csv", ctx).code == "file_too_large"
    assert rejected(b"\x00" * 2048, "photo.pdf", ctx).code == "file_too_large"
    error = rejected(b"x" * (11 * 1024 * 1024), "list.csv")
    assert "11.0 MB" in error.message_zh and "10.0 MB" in error.message_zh
    ok = to_csv([line(STAFF[0], ctx)])
    assert read_remittance_file(ok, "a.csv", context(max_bytes=len(ok))).ok


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\r\n", "\ufeff".encode(), b",,,\r\n,,\r\n"],
    ids=["zero-bytes", "blank-lines", "bom-only", "empty-cells"],
)
def test_empty_file_is_rejected(data: bytes) -> None:
    assert rejected(data).code == "file_empty"


def test_header_without_data_rows_is_rejected_as_empty() -> None:
    error = rejected(to_csv([]) + b"\r\n,,,,,\r\n")
    assert error.code == "file_empty" and "没有数据行" in error.message_zh
    assert rejected(xlsx([]), "a.xlsx").code == "file_empty"


@pytest.mark.parametrize(
    "data",
    ["身份证号,姓名\r\n".encode("utf-16"), "Käse,ÿ\n".encode("latin-1"), b"\x00\x01\x02binary"],
    ids=["utf-16", "latin-1", "binary"],
)
def test_wrong_encoding_is_rejected(data: bytes) -> None:
    error = rejected(data)
    assert error.code == "file_encoding"
    assert error.message_zh == "文件编码无法识别，请使用 UTF-8 或 GBK 编码"


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"id,name\n", "list.txt", "file_format"),
        (b"id,name\n", "list", "file_format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "list.xls", "file_format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "list.csv", "file_format"),
        (b"id,name\n", "list.xlsx", "file_format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1encrypted", "list.xlsx", "file_format"),
        (b"PK\x03\x04 not really a zip", "list.xlsx", "file_unreadable"),
    ],
)
def test_wrong_or_damaged_format_is_rejected(data: bytes, filename: str, code: str) -> None:
    assert rejected(data, filename).code == code


def test_xlsx_content_under_a_csv_name_is_rejected() -> None:
    error = rejected(xlsx([]), "list.csv")
    assert error.code == "file_format" and ".csv" in error.message_zh


def test_missing_required_column_is_rejected_naming_it() -> None:
    error = rejected(to_csv([], HEADER[:-1]))
    assert error.code == "missing_columns"
    assert "个人月缴存额" in error.message_zh and "employee amount" in error.message_en
    error = rejected(to_csv([["a", "b"]], ["姓名", "缴存基数"]))
    assert "身份证号" in error.message_zh


def test_too_many_rows_is_rejected_and_the_limit_itself_is_allowed() -> None:
    ctx = context(max_rows=4)
    rows = [line(p, ctx) for p in STAFF]
    assert read_remittance_file(to_csv(rows), "a.csv", ctx).ok
    error = rejected(to_csv([*rows, line(STAFF[0], ctx)]), ctx=ctx)
    assert error.code == "too_many_rows" and "4" in error.message_zh
    many = to_csv([line(STAFF[0], ctx)] * 50)
    assert rejected(many, ctx=ctx).code == "too_many_rows"


# --- row errors -------------------------------------------------------------------------------


def test_bad_id_numbers_are_reported_with_the_middle_masked() -> None:
    ctx = context()
    p1, p2 = STAFF[:2]
    wrong_check = p1.id_number[:17] + ("0" if p1.id_number[17] != "0" else "1")
    rows = [line(p1, ctx), line(p2, ctx), line(p1, ctx), line(p2, ctx)]
    rows[0][1] = wrong_check
    rows[1][1] = p2.id_number[:15]
    rows[2][1] = ""
    rows[3][1] = "1.10101E+17"
    parsed = read_remittance_file(to_csv(rows), "a.csv", ctx)
    assert codes(parsed) == [
        (2, "id_invalid"),
        (3, "id_invalid"),
        (4, "id_missing"),
        (5, "id_mangled"),
    ]
    assert "校验位" in parsed.errors[0].message_zh
    for e in parsed.errors:
        assert wrong_check not in e.message_zh + e.message_en
    assert wrong_check[:4] + "*" * 10 + wrong_check[-4:] in parsed.errors[0].message_zh
    assert parsed.errors[0].column == "身份证号"
    assert not parsed.rows and not parsed.ok


def test_duplicated_rows_flag_the_second_and_later_occurrences() -> None:
    ctx = context()
    p1, p2 = STAFF[:2]
    parsed = read_remittance_file(
        to_csv([line(p1, ctx), line(p2, ctx), line(p1, ctx), line(p1, ctx)]), "a.csv", ctx
    )
    assert codes(parsed) == [(4, "id_duplicate"), (5, "id_duplicate")]
    assert "第 2 行" in parsed.errors[0].message_zh and "line 2" in parsed.errors[0].message_en
    assert not parsed.ok


def test_another_employers_depositor_and_an_unknown_person_are_refused() -> None:
    ctx = context()
    parsed = read_remittance_file(
        to_csv([line(ELSEWHERE, ctx), line(STRANGER, ctx), line(STAFF[0], ctx)]), "a.csv", ctx
    )
    assert codes(parsed) == [(2, "other_employer"), (3, "unknown_depositor")]
    assert "其他单位" in parsed.errors[0].message_zh
    assert "E999999" not in parsed.errors[0].message_zh + parsed.errors[0].message_en
    assert [r.line_no for r in parsed.rows] == [4] and not parsed.ok


def test_name_must_match_the_record_up_to_spacing_and_dots() -> None:
    staff = [person(1, name="买买提·艾力"), person(2, name="张 伟"), person(3, name="李娜")]
    ctx = context(staff)
    rows = [line(p, ctx) for p in staff]
    rows[0][2] = "买买提•艾力"
    rows[1][2] = "张伟"
    rows[2][2] = "李 娜娜"
    parsed = read_remittance_file(
        to_csv([*rows, [*line(staff[0], ctx)[:2], "", *line(staff[0], ctx)[3:]]]), "a.csv", ctx
    )
    assert codes(parsed) == [(4, "name_mismatch"), (5, "id_duplicate"), (5, "name_missing")]
    assert "李娜" in parsed.errors[0].message_zh


def test_account_column_must_match_when_filled() -> None:
    ctx = context()
    rows = [line(p, ctx) for p in STAFF]
    rows[0][0] = ""
    rows[1][0] = "P999999"
    assert codes(read_remittance_file(to_csv(rows), "a.csv", ctx)) == [(3, "account_mismatch")]


def test_base_may_change_but_must_stay_within_the_limits() -> None:
    ctx = context()
    p1, p2, p3 = STAFF[:3]
    rows = [line(p1, ctx, 600_000), line(p2, ctx, 2_443_001), line(p3, ctx, 200_999)]
    parsed = read_remittance_file(to_csv(rows), "a.csv", ctx)
    assert codes(parsed) == [(3, "base_out_of_limits"), (4, "base_out_of_limits")]
    assert "上限" in parsed.errors[0].message_zh and "下限" in parsed.errors[1].message_zh
    assert parsed.rows[0].base_fen == 600_000 and parsed.rows[0].previous_base_fen == 500_000


def test_amounts_off_by_one_fen_are_flagged_with_expected_and_given() -> None:
    ctx = context()
    rows = [line(p, ctx) for p in STAFF[:2]]
    rows[0][4] = "600.01"
    rows[1][5] = "974.80"
    parsed = read_remittance_file(to_csv(rows), "a.csv", ctx)
    assert codes(parsed) == [(2, "amount_mismatch"), (3, "amount_mismatch")]
    assert parsed.errors[0].column == "单位月缴存额" and parsed.errors[1].column == "个人月缴存额"
    assert "600.00" in parsed.errors[0].message_zh and "600.01" in parsed.errors[0].message_zh
    assert "974.81" in parsed.errors[1].message_en and "974.80" in parsed.errors[1].message_en
    assert not parsed.rows


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-600.00", "amount_negative"),
        ("abc", "amount_invalid"),
        ("六百", "amount_invalid"),
        ("", "amount_missing"),
        ("600.001", "amount_precision"),
        ("6" * 60, "amount_invalid"),
    ],
)
def test_negative_or_non_numeric_amounts_are_row_errors(text: str, code: str) -> None:
    ctx = context()
    row = line(STAFF[0], ctx)
    row[4] = text
    parsed = read_remittance_file(to_csv([row, line(STAFF[1], ctx)]), "a.csv", ctx)
    assert codes(parsed) == [(2, code)]
    assert len(parsed.rows) == 1 and not parsed.ok


def test_bad_base_cell_is_reported_and_amounts_not_compared() -> None:
    ctx = context()
    row = line(STAFF[0], ctx)
    row[3], row[4] = "-5000", "1"
    assert codes(read_remittance_file(to_csv([row]), "a.csv", ctx)) == [(2, "base_negative")]
    row[3] = "五千"
    assert codes(read_remittance_file(to_csv([row]), "a.csv", ctx)) == [(2, "base_invalid")]


def test_every_error_of_a_row_is_collected_with_line_numbers_counting_blank_lines() -> None:
    ctx = context()
    bad = [STRANGER.depositor_ref, STRANGER.id_number, "", "99999999", "-1", "x"]
    data = to_csv([line(STAFF[0], ctx), [], bad])
    parsed = read_remittance_file(data, "a.csv", ctx)
    assert codes(parsed) == [
        (4, "unknown_depositor"),
        (4, "name_missing"),
        (4, "base_out_of_limits"),
        (4, "amount_negative"),
        (4, "amount_invalid"),
    ]
    assert all(e.message_zh and e.message_en for e in parsed.errors)


def test_whole_yuan_rounding_policy_is_respected() -> None:
    yuan = context(limits=replace(LIMITS, rounding="yuan"))
    fen = context()
    p = STAFF[1]  # 8123.45 × 12% = 974.814: 974.81 to the fen, 975.00 to the yuan
    assert line(p, yuan)[4:] == ["975.00", "975.00"]
    assert read_remittance_file(to_csv([line(p, yuan)]), "a.csv", yuan).total_fen == 195_000
    parsed = read_remittance_file(to_csv([line(p, fen)]), "a.csv", yuan)
    assert codes(parsed) == [(2, "amount_mismatch"), (2, "amount_mismatch")]
    assert (
        codes(read_remittance_file(to_csv([line(p, yuan)]), "a.csv", fen))[0][1]
        == "amount_mismatch"
    )


# --- reports, template, progress ----------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_error_report_round_trips() -> None:
    ctx = context()
    rows = [line(p, ctx) for p in STAFF]
    rows[0][4], rows[2][2] = "abc", "某人"
    parsed = read_remittance_file(to_csv([*rows, line(STRANGER, ctx)]), "a.csv", ctx)
    table = read_csv(error_report_csv(parsed))
    assert table[0] == ["行号", "列", "错误代码", "错误说明", "Error"]
    back = [RowError(int(n), col, code, zh, en) for n, col, code, zh, en in table[1:]]
    assert back == list(parsed.errors) and len(back) == 3


def test_error_report_keeps_cells_from_running_as_formulas() -> None:
    parsed = ParsedRemittance((), (RowError(2, "=HYPERLINK()", "x", "+1", "@SUM(A1)"),), 0)
    assert read_csv(error_report_csv(parsed))[1] == ["2", "'=HYPERLINK()", "x", "'+1", "'@SUM(A1)"]


def test_template_re_uploads_cleanly_with_the_drafted_total() -> None:
    high = person(5, 3_000_000)  # above the cap: drafted at the cap
    ctx = context([*STAFF, high])
    template = template_csv(ctx)
    table = read_csv(template)
    assert table[0] == HEADER and len(table) == 6
    assert table[1][1] == "\t" + STAFF[0].id_number  # a tab keeps Excel from rounding the ID
    drafted = draft_rows(ctx)
    assert (
        drafted[-1].base_fen == LIMITS.base_cap_fen and drafted[-1].previous_base_fen == 3_000_000
    )
    parsed = read_remittance_file(template, "template.csv", ctx)
    assert parsed.ok, parsed.errors
    assert parsed.total_fen == sum(r.total_fen for r in drafted)
    assert parsed.total_fen == oracle_total(
        [*[p.base_fen for p in STAFF], LIMITS.base_cap_fen], ctx
    )
    regbk = template.decode("utf-8-sig").encode("gbk")  # HR saved it again from Excel as GBK
    assert read_remittance_file(regbk, "template.csv", ctx).total_fen == parsed.total_fen


def test_absent_staff_are_listed_for_information() -> None:
    ctx = context()
    parsed = read_remittance_file(to_csv([line(STAFF[0], ctx)]), "a.csv", ctx)
    assert parsed.ok and parsed.absent == ("P000002", "P000003", "P000004")


def big_staff(n: int) -> list[EmployeeOnFile]:
    return [person(i, 201_000 + (i * 7919) % 2_000_000) for i in range(1, n + 1)]


def test_progress_is_reported_every_thousand_rows_and_at_the_end() -> None:
    staff = big_staff(2500)
    ctx = context(staff)
    calls: list[tuple[int, int]] = []
    parsed = read_remittance_file(
        template_csv(ctx), "a.csv", ctx, progress=lambda d, t: calls.append((d, t))
    )
    assert parsed.ok and len(parsed.rows) == 2500
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]


@pytest.mark.slow
def test_a_list_at_the_row_limit_fits_the_default_size_limit() -> None:
    staff = big_staff(100_000)
    ctx = context(staff)
    data = template_csv(ctx)
    assert len(data) <= ctx.max_bytes
    parsed = read_remittance_file(data, "a.csv", ctx)
    assert parsed.ok and len(parsed.rows) == 100_000
    assert parsed.total_fen == sum(r.total_fen for r in draft_rows(ctx))


# --- property --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    bases=st.lists(
        st.integers(LIMITS.base_floor_fen, LIMITS.base_cap_fen), min_size=1, max_size=25
    ),
    employer_rate=st.decimals(5, 12, places=1),
    employee_rate=st.decimals(5, 12, places=1),
    rounding=st.sampled_from(["fen", "yuan"]),
    as_xlsx=st.booleans(),
)
def test_random_bases_within_limits_parse_to_the_sum_of_monthly_amounts(
    bases: list[int],
    employer_rate: Decimal,
    employee_rate: Decimal,
    rounding: Rounding,
    as_xlsx: bool,
) -> None:
    staff = [person(i, 201_000) for i in range(1, len(bases) + 1)]  # the list carries new bases
    ctx = context(
        staff,
        employer_rate_pct=employer_rate,
        employee_rate_pct=employee_rate,
        limits=replace(LIMITS, rounding=rounding),
    )
    rows = [line(p, ctx, base) for p, base in zip(staff, bases, strict=True)]
    numbers = [[*r[:3], *(float(v) for v in r[3:])] for r in rows]  # xlsx number cells
    data = xlsx(numbers) if as_xlsx else to_csv(rows, encoding="gbk")
    parsed = read_remittance_file(data, "a.xlsx" if as_xlsx else "a.csv", ctx)
    assert parsed.ok, parsed.errors
    expected = [
        monthly_amounts(b, employer_rate, employee_rate, ctx.limits.rounding) for b in bases
    ]
    assert parsed.total_fen == sum(m.total_fen for m in expected) == oracle_total(bases, ctx)
    assert [r.base_fen for r in parsed.rows] == bases
