"""Writes the bad-input corpus beside this file, byte for byte the same on every run.

Run ``python tests/data/bad/make_corpus.py`` after changing it; the files are committed. The
workbooks are built from their XML parts with fixed zip timestamps, so they do not change
from run to run (openpyxl would stamp the time of saving). The tests also check that each
committed file equals what this script makes.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "身份证号,姓名,缴存基数,金额"
ROW = "371302198803140219,张建国,5000.00,600.00"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _cell(ref: str, value: str) -> str:
    if value.startswith("="):  # a formula without a cached value, as a script would write it
        formula = value[1:].replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        return f'<c r="{ref}"><f>{formula}</f></c>'
    text = value.replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def workbook(rows: list[list[str]]) -> bytes:
    """A minimal .xlsx with one sheet of ``rows`` (a cell starting with = is a formula)."""
    body = "".join(
        f'<row r="{n}">'
        + "".join(_cell(f"{'ABCDEFGH'[i]}{n}", v) for i, v in enumerate(row))
        + "</row>"
        for n, row in enumerate(rows, start=1)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{body}</sheetData></worksheet>"
    )
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2023, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))
    return out.getvalue()


def corpus() -> dict[str, bytes]:
    """File name -> bytes of every committed bad file."""
    good_book = workbook([HEADER.split(","), ROW.split(",")])
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr(zipfile.ZipInfo("readme.txt", date_time=(2023, 1, 1, 0, 0, 0)), b"not a book")
    rng = random.Random(20231)
    noise = bytes(rng.randrange(256) for _ in range(4096))
    return {
        "empty.csv": b"",
        "only_whitespace.csv": b" \r\n\t\r\n  \n",
        "utf16.csv": f"{HEADER}\n{ROW}\n".encode("utf-16"),
        "utf32.csv": f"{HEADER}\n{ROW}\n".encode("utf-32"),
        "invalid_bytes.csv": HEADER.encode("utf-8") + b"\n\xff\xfe\xfd\x80\x81,\xff\xff\n",
        "nul_bytes.csv": f"{HEADER}\n".encode()
        + b"3713\x0002198803140219,\x00\x00,5000.00,600.00\n",
        "binary_noise.csv": b"\xff" + noise,
        "workbook_named.csv": good_book,
        "truncated.xlsx": good_book[: len(good_book) * 3 // 5],
        "text_named.xlsx": f"{HEADER}\n{ROW}\n".encode(),
        "zip_without_workbook.xlsx": plain_zip.getvalue(),
        "ole_header.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
        "formula_cells.xlsx": workbook(
            [
                HEADER.split(","),
                ['=HYPERLINK("http://x","y")', "=1+1", "=A1*1000", '=cmd|" /C calc"!A0'],
            ]
        ),
        "formula_cells.csv": (
            f'{HEADER}\n=HYPERLINK("http://x";"y"),@SUM(1+1)*cmd|\' /C calc\'!A0,+5000,-600\n'
        ).encode(),
        "html_names.csv": (
            f"{HEADER}\n<script>alert(1)</script>,<img src=x onerror=alert(1)>,5000.00,600.00\n"
        ).encode(),
        "header_only.csv": f"{HEADER}\n".encode(),
        "no_header.csv": f"{ROW}\n{ROW}\n".encode(),
    }


def main() -> None:
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
