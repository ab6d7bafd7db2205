"""Bank batch files as the web reads them (银行批量文件): withdrawal payments and loan debits.

Withdrawals pay approved amounts out in a payment batch (支付批次) and loans collect due
installments in a debit batch (代扣批次); both are a file for the bank, exported once per
idempotency key, downloaded again as CSV, and settled by the bank's result file (回盘), which is
idempotent by itself. This module holds the reads the two share:

- the scope: a staff member's branch (``None`` for the whole center), a batch visible only when
  every line in it belongs to a branch the principal may see, and the batches of the scope with
  their results so far (:class:`BatchTables` names the tables of one kind of batch);
- the file: :func:`bank_file` (BOM, the export columns, the download audited), the bank's result
  file decoded (:func:`decode_result_file`), the batch numbers it names (every one must be in the
  scope) and the CSV download response;
- :class:`BatchFiles`: one area's batch files (permission, file name, its export, list, file and
  import functions), which the routes of :mod:`hpf.web.batch_file_routes` are built from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.errors import InvalidInput
from hpf.tabular_safety import safe_csv_writer
from hpf.web import contribution_actions as actions
from hpf.web.errors import Problem

MAX_RESULT_BYTES = 5 * 1024 * 1024

# --- scope ------------------------------------------------------------------------------------


def branch_scope(principal: Principal) -> int | None:
    """The principal's branch, or None for the whole center."""
    return None if principal.whole_center else principal.branch_id


def staff_branch_or_refuse(principal: Principal) -> int | None:
    """The branch a staff member exports or imports for; 403 for anyone else."""
    if principal.kind not in ("staff", "system"):
        raise Problem(403)
    branch = branch_scope(principal)
    if branch is None and not principal.whole_center:
        raise Problem(403)
    return branch


@dataclass(frozen=True)
class BatchTables:
    """The tables of one kind of batch: the batch, its lines, and what each line pays or debits."""

    batch: type[Any]
    line_batch_id: InstrumentedAttribute[int]
    line_amount_fen: InstrumentedAttribute[int]
    line_result: InstrumentedAttribute[Any]
    line_owner_id: InstrumentedAttribute[int]
    owner_id: InstrumentedAttribute[int]
    owner_branch_id: InstrumentedAttribute[int]


def visible_batch(
    session: Session,
    principal: Principal,
    tables: BatchTables,
    batch_id: int,
    not_found: Callable[[int], Problem],
) -> Any:
    """The batch if every line in it is in the principal's scope; ``not_found`` otherwise."""
    batch = session.get(tables.batch, batch_id)
    if batch is None or principal.kind not in ("staff", "system"):
        raise not_found(batch_id)
    branches = set(
        session.scalars(
            select(tables.owner_branch_id)
            .join(tables.line_owner_id.class_, tables.line_owner_id == tables.owner_id)
            .where(tables.line_batch_id == batch_id)
        )
    )
    if not branches or not all(principal.can_see_branch(b) for b in branches):
        raise not_found(batch_id)
    return batch


def summaries(
    session: Session, principal: Principal, tables: BatchTables, limit: int = 50
) -> list[dict[str, Any]]:
    """Recent batches holding lines of the scope, with their results so far."""
    counts = (
        select(
            tables.line_batch_id,
            func.count().label("lines"),
            func.coalesce(func.sum(tables.line_amount_fen), 0).label("total"),
            func.count(tables.line_result).label("settled"),
        )
        .join(tables.owner_id.class_, tables.owner_id == tables.line_owner_id)
        .group_by(tables.line_batch_id)
        .order_by(tables.line_batch_id.desc())
        .limit(limit)
    )
    branch = branch_scope(principal)
    if branch is not None:
        counts = counts.where(tables.owner_branch_id == branch)
    paid_by = {
        int(b): int(n)
        for b, n in session.execute(
            select(tables.line_batch_id, func.count())
            .where(tables.line_result == "paid")
            .group_by(tables.line_batch_id)
        )
    }
    out = []
    for batch_id, lines, total, settled in session.execute(counts):
        batch = session.get(tables.batch, batch_id)
        assert batch is not None
        paid = paid_by.get(int(batch_id), 0)
        out.append(
            {
                "id": int(batch_id),
                "created_on": batch.created_on,
                "created_by": batch.created_by,
                "lines": int(lines),
                "total_fen": int(total),
                "paid": paid,
                "failed": int(settled) - paid,
                "open": int(lines) - int(settled),
            }
        )
    return out


# --- the files --------------------------------------------------------------------------------


def bank_file(
    session: Session,
    principal: Principal,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    audit_action: str,
    object_type: str,
    batch_id: int,
) -> str:
    """The bank file of a batch (BOM, columns, rows); the download is audited."""
    out = io.StringIO()
    writer = safe_csv_writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
    audit.record_read(
        session, actor=principal, action=audit_action, object_type=object_type, object_id=batch_id
    )
    return "\ufeff" + out.getvalue()


def decode_result_file(data: bytes) -> str:
    """The bank's result file as text (UTF-8 or GBK, 5 MB at most)."""
    if len(data) > MAX_RESULT_BYTES:
        raise InvalidInput("文件过大（上限5MB）", "the file is too large (5 MB at most)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("文件编码无法识别（应为UTF-8或GBK）", "the file is not UTF-8 or GBK")


def batch_ids_in(text: str) -> list[int]:
    """The batch numbers (批次号) a result file names, in order."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    batch_ids: set[int] = set()
    for raw in reader:
        value = (raw.get("批次号") or "").strip()
        if value.isdigit() and len(value) < 18:
            batch_ids.add(int(value))
    return sorted(batch_ids)


def csv_response(text: str, filename: str) -> Response:
    """A batch file as a CSV download."""
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@dataclass(frozen=True)
class BatchFiles:
    """One area's batch files: who may handle them, the download's name and the area's work."""

    permission: str
    filename: str
    """The download's file name; ``{}`` stands for the batch number."""
    export: Callable[[Request, Session, Principal, str], actions.Done]
    """A new batch of what waits, once per idempotency key."""
    batches: Callable[[Session, Principal], list[dict[str, Any]]]
    csv: Callable[[Session, Principal, int], str]
    import_results: Callable[[Session, Principal, str], Any]
    """Settle the bank's result file (text); answers the import summary."""

    def download(self, db: Session, principal: Principal, batch_id: int) -> Response:
        return csv_response(self.csv(db, principal, batch_id), self.filename.format(batch_id))
