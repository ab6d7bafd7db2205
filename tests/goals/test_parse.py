"""Reading the seed's goal table as it really arrives: text (UTF-8 or GBK, LF or CRLF) with
dropped merged cells, and an .xlsx with real merged cells; malformed files name the line."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from hpf.goals.commands import sample_bytes
from hpf.goals.parse import FIELDS, GoalTable, GoalTableError, parse_file, parse_text

# name → (duty_no, duty, objective, target (kind, op, value), avg_3y value, last_year value)
EXPECTED: list[tuple[str, str, str, str, tuple[str, str, str | None], str | None, str | None]] = [
    ("住房公积金归集额", "1", "拟定公积金业务计划", "归集住房公积金", ("amount", ">=", "8500000000"), "7233000000", "7700000000"),
    ("住房公积金归集人数", "1", "拟定公积金业务计划", "归集住房公积金", ("count", ">=", "50000"), "40000", "42000"),
    ("住房公积金提取额", "1", "拟定公积金业务计划", "提取住房公积金", ("amount", ">=", "5500000000"), "5067000000", "5200000000"),
    ("个人住房公积金贷款额", "1", "拟定公积金业务计划", "发放个人住房公积金贷款", ("amount", ">=", "5200000000"), "4767000000", "5000000000"),
    ("贷款逾期率", "1", "拟定公积金业务计划", "控制个贷逾期率", ("ratio", "<", "0.003"), "0.003", "0.003"),
    ("增值收益分配完成额", "2", "公积金核算与保值", "增值收益分配及核算", ("amount", ">=", "457000000"), "361000000", "429000000"),
    ("住房公积金利息支出完成额", "2", "公积金核算与保值", "住房公积金年度个人结息", ("amount", ">=", "490000000"), "403000000", "447000000"),
    ("群众满意率", "3", "服务保障", "办理政务服务热线、住房公积金服务热线和网站留言等相关工作。", ("ratio", ">=", "0.9"), "0.93", "0.97"),
    ("来电回复率", "3", "服务保障", "完成客户对市中心关于住房公积金相关政策、法规以及住房公积金业务来电的咨询、解答、查询工作。", ("ratio", ">=", "1"), "1", "1"),
    ("业务系统稳定性", "4", "技术支持", "建设高效的住房公积金综合业务系统和综合服务平台；建设统一数据接入平台，实现政务数据交换共享。", ("text", "=", None), None, None),
    ("电子稽核监控率", "4", "技术支持", "加强对住房公积金业务的监管力度，有效建立防范风险机制。", ("text", "=", None), None, None),
    ("数据安全性", "4", "技术支持", "住房公积金数据信息的备份、存档、保密以及信息数据的统计、发布和交换工作。", ("text", "=", None), None, None),
    ("业务网办率效率提升", "5", "深化“放管服”改革", "持续推进业务流程再造，探索公积金“无纸化”模式。", ("ratio", ">=", "0.8"), "0.74", "0.74"),
]  # fmt: skip
DETAILS = {
    "贷款逾期率": "负责指导和推行全市住房公积金，拟订住房公积金年度归集、提取和使用计划",
    "住房公积金利息支出完成额": "负责全市住房公积金年度个人结息工作",
    "数据安全性": "数据安全工作",
    "来电回复率": "承担公积金行业服务保障工作",
}


def check(table: GoalTable) -> None:
    assert table.year == 2023
    assert table.organisation == "临沂市住房公积金中心"
    assert table.title.startswith("2023年临沂市住房公积金中心部门预算整体绩效目标表")
    got = table.as_json()["indicators"]
    assert isinstance(got, list)
    assert [r["name"] for r in got] == [e[0] for e in EXPECTED]
    for row, (name, duty_no, duty, objective, target, avg, last) in zip(got, EXPECTED, strict=True):
        assert (row["duty_no"], row["duty"], row["objective"]) == (duty_no, duty, objective), name
        t = row["target"]
        assert (t["kind"], t["op"], t["value"]) == target, name
        assert row["avg_3y"]["value"] == avg and row["last_year"]["value"] == last, name
        assert set(row) == set(FIELDS)
        assert row["activities"] and row["explanation"] and row["history_source"], name
        if name in DETAILS:
            assert row["duty_detail"] == DETAILS[name]
    by_name = {r["name"]: r for r in got}
    assert by_name["住房公积金归集人数"]["planned"]["kind"] == "none"
    assert by_name["住房公积金归集额"]["standard_source"] == "市公积金管委会工作报告"
    assert by_name["群众满意率"]["history_source"].startswith("临沂市人民政府督查室")


def test_the_seed_text_yields_all_13_indicators() -> None:
    check(parse_file(sample_bytes(), "linyi_2023.txt"))


def test_the_seed_reencoded_as_gbk_with_crlf() -> None:
    text = sample_bytes().decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    check(parse_file(data, "goals.txt"))


def test_a_full_width_row_with_a_blank_value_stays_in_its_column() -> None:
    lines = sample_bytes().decode("utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("2\t"))
    cells = lines[n].split("\t")
    cells[7] = ""  # 规划值 left blank
    lines[n] = "\t".join(cells)
    table = parse_text("\n".join(lines).encode())
    row = next(r for r in table.rows if r.texts["name"] == "增值收益分配完成额")
    assert row.values["planned"].kind == "none"
    assert row.values["standard"].value is not None and row.texts["duty"] == "公积金核算与保值"


def build_xlsx(table: GoalTable) -> bytes:
    """The table as a workbook laid out like the printed one, with real merged cells: the
    title, a four-row header, duty cells merged down their rows and equal sources merged."""
    book = openpyxl.Workbook()
    ws = book.active
    width = len(FIELDS)
    ws.cell(1, 1, table.title)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)

    def put(r: int, c: int, text: str, rows: int = 1, cols: int = 1) -> None:
        ws.cell(r, c, text)
        if rows > 1 or cols > 1:
            ws.merge_cells(
                start_row=r, start_column=c, end_row=r + rows - 1, end_column=c + cols - 1
            )

    for c, text in (
        (1, "职责序号"),
        (4, "职责目标"),
        (5, "绩效指标"),
        (6, "指标解释"),
        (7, "年度指标值"),
        (14, "工作活动"),
    ):
        put(2, c, text, rows=4)
    put(2, 2, "部门职责", rows=4, cols=2)
    put(2, 8, "指标参考值", cols=6)
    put(3, 8, "标准值 (规划目标、行业标准或其他明确标准)", cols=3)
    put(3, 11, "历史值 (统计年鉴/统计公报/内部统计/其他需明确的来源)", cols=3)
    put(4, 8, "规划值", rows=2)
    put(4, 9, "当年标准值", cols=2)
    put(5, 9, "标准值")
    put(5, 10, "来源")
    put(4, 11, "前三年均值", rows=2)
    put(4, 12, "上年值", rows=2)
    put(4, 13, "来源", rows=2)
    first = 6
    for i, row in enumerate(table.rows):
        for c, name in enumerate(FIELDS, 1):
            ws.cell(first + i, c, row.texts[name])
    for c in (1, 2, 3, 4, 10, 13):  # merge runs of equal cells (levels keyed by the ones above)
        key: Any = None
        start = 0
        keys = [
            (*(r.texts[f] for f in FIELDS[: min(c, 4)]), r.texts[FIELDS[c - 1]]) for r in table.rows
        ]
        for i in range(len(keys) + 1):
            if i == len(keys) or keys[i] != key:
                if key is not None and i - start > 1:
                    ws.merge_cells(
                        start_row=first + start, start_column=c, end_row=first + i - 1, end_column=c
                    )
                if i < len(keys):
                    key, start = keys[i], i
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_with_merged_cells() -> None:
    data = build_xlsx(parse_file(sample_bytes(), "x.txt"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert "A6:A10" in merged and "D6:D7" in merged  # duty 1 over five rows, 归集 over two
    assert sheet.cell(7, 4).value is None  # a merged cell holds nothing below its top
    check(parse_file(data, "goals.xlsx"))


def _lines() -> list[str]:
    return sample_bytes().decode("utf-8").splitlines()


@pytest.mark.parametrize(
    ("mutate", "line", "reason"),
    [
        (lambda ls: ls.__setitem__(9, "\t".join(ls[9].split("\t")[:6])), 10, "非空单元格"),
        (lambda ls: ls.__setitem__(2, "## 临沂市住房公积金中心绩效目标表"), 3, "标题"),
        (lambda ls: ls.__setitem__(4, ls[4].replace("职责序号", "序号")), 5, "表头"),
        (lambda ls: ls.__setitem__(4, ls[4].replace("年度指标值", "指标值")), 5, "年度指标值"),
    ],
)
def test_a_malformed_file_is_rejected_naming_the_line(mutate: Any, line: int, reason: str) -> None:
    lines = _lines()
    mutate(lines)
    with pytest.raises(GoalTableError) as err:
        parse_text("\n".join(lines).encode())
    assert err.value.line == line
    assert f"第 {line} 行" in err.value.message_zh and reason in err.value.message_zh
    assert f"line {line}" in err.value.message_en


def test_unreadable_inputs() -> None:
    with pytest.raises(GoalTableError, match="line 1"):
        parse_file(b"PK\x03\x04garbage", "x.xlsx")
    with pytest.raises(GoalTableError, match="no indicator rows"):
        parse_text("## 2023年某中心绩效目标表\n职责序号\t部门职责\t绩效指标\t年度指标值\n".encode())
