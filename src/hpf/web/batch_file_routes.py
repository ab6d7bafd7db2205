"""The routes of a bank batch file (银行批量文件): export, list, download, import the result.

Withdrawal payments (支付批次) and loan debits (代扣批次) are handled the same way, in the API and
in the staff console; each area describes its batch files once
(:class:`hpf.web.batch_files.BatchFiles`: the permission, the file name and its functions) and
mounts the four routes with :func:`add_api_routes` (``POST {path}`` export, ``GET {path}``,
``GET {path}/{id}/file``, ``POST {path}/results``) and :func:`add_console_routes` (the page,
``POST …/export`` downloading a new batch, ``GET …/{id}/file``, ``POST …/results`` importing the
bank's result file). URLs, summaries and the API's models are the area's own, so each keeps its
paths and names.

The endpoints are built here from the area's settings, so their annotations are real objects (no
postponed evaluation in this module).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.web import contributions as c
from hpf.web.api_contribution_actions import IdempotencyKey
from hpf.web.batch_files import BatchFiles, decode_result_file
from hpf.web.portal_withdrawals import Key, lang_of
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

UPLOAD_DESCRIPTION = "The bank's result file (CSV)"


# --- the API ----------------------------------------------------------------------------------


class BatchOut(BaseModel):
    replayed: bool
    batch_id: int
    lines: int
    total_fen: int
    file: str


class BatchSummaryOut(BaseModel):
    id: int
    created_on: date
    lines: int
    total_fen: int
    paid: int
    failed: int
    open: int


class ImportOut(BaseModel):
    batch_ids: list[int]
    paid: int
    failed: int
    unchanged: int
    paid_fen: int


@dataclass(frozen=True)
class ApiSummaries:
    export: str
    list: str
    file: str
    results: str


def add_api_routes(
    router: APIRouter,
    files: BatchFiles,
    *,
    path: str,
    summaries: ApiSummaries,
    batch_out: type[BatchOut] = BatchOut,
    import_out: type[ImportOut] = ImportOut,
) -> None:
    """``POST {path}`` (export), ``GET {path}``, ``GET {path}/{id}/file``, ``POST …/results``."""
    allowed = Depends(require(files.permission))

    def export_batch(
        request: Request,
        db: DbSession,
        principal: Annotated[Principal, allowed],
        idempotency_key: IdempotencyKey,
    ) -> BatchOut:
        done = files.export(request, db, principal, idempotency_key)
        batch_id = int(done.result["batch_id"])
        return batch_out(
            replayed=done.replayed,
            batch_id=batch_id,
            lines=int(done.result["lines"]),
            total_fen=int(done.result["total_fen"]),
            file=f"{router.prefix}{path}/{batch_id}/file",
        )

    def list_batches(db: DbSession, principal: Annotated[Principal, allowed]) -> Any:
        return [BatchSummaryOut.model_validate(b) for b in files.batches(db, principal)]

    def batch_file(
        batch_id: RowId, db: DbSession, principal: Annotated[Principal, allowed]
    ) -> Response:
        return files.download(db, principal, batch_id)

    async def import_results(
        db: DbSession,
        principal: Annotated[Principal, allowed],
        file: Annotated[UploadFile, File(description=UPLOAD_DESCRIPTION)],
    ) -> ImportOut:
        data, _name = await c.read_upload(file)
        summary = files.import_results(db, principal, decode_result_file(data))
        return import_out(
            batch_ids=list(summary.batch_ids),
            paid=summary.paid,
            failed=summary.failed,
            unchanged=summary.unchanged,
            paid_fen=summary.paid_fen,
        )

    router.add_api_route(
        path,
        export_batch,
        methods=["POST"],
        status_code=201,
        summary=summaries.export,
        response_model=batch_out,
    )
    router.add_api_route(
        path,
        list_batches,
        methods=["GET"],
        summary=summaries.list,
        response_model=list[BatchSummaryOut],
    )
    router.add_api_route(
        f"{path}/{{batch_id}}/file",
        batch_file,
        methods=["GET"],
        summary=summaries.file,
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "The batch file"}},
    )
    router.add_api_route(
        f"{path}/results",
        import_results,
        methods=["POST"],
        summary=summaries.results,
        response_model=import_out,
    )


# --- the console ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsolePage:
    """The console page of an area's batch files and the summaries of its routes."""

    path: str
    """The page, below the router's prefix; export and results are below it."""
    name: str
    """The page route's name."""
    file_path: str
    """A batch file again, below the router's prefix, with ``{batch_id}``."""
    template: str
    waiting: Callable[[Session, Principal], tuple[int, int]]
    """(count, fen) of what the next export would hold."""
    waiting_keys: tuple[str, str]
    """The template's names for that count and amount."""
    page_summary: str
    export_summary: str
    file_summary: str
    results_summary: str


def add_console_routes(router: APIRouter, files: BatchFiles, page: ConsolePage) -> None:
    """The page, ``POST …/export`` (a CSV download), ``GET`` the file again, ``POST …/results``."""
    allowed = Depends(require(files.permission))

    def render_page(
        request: Request,
        db: Session,
        principal: Principal,
        *,
        summary: Any = None,
        error: str = "",
        status_code: int = 200,
    ) -> Response:
        count, total = page.waiting(db, principal)
        return render(
            request,
            page.template,
            {
                page.waiting_keys[0]: count,
                page.waiting_keys[1]: total,
                "batches": files.batches(db, principal),
                "summary": summary,
                "error": error,
            },
            status_code=status_code,
        )

    def show(request: Request, db: DbSession, principal: Annotated[Principal, allowed]) -> Response:
        return render_page(request, db, principal)

    def export_batch(
        request: Request,
        db: DbSession,
        principal: Annotated[Principal, allowed],
        idempotency_key: Key,
    ) -> Response:
        try:
            done = files.export(request, db, principal, idempotency_key)
        except DomainError as exc:
            response = RedirectResponse(f"{router.prefix}{page.path}", status_code=303)
            flash(response, exc.message(lang_of(request)), "danger")
            return response
        return files.download(db, principal, int(done.result["batch_id"]))

    def batch_file(
        batch_id: RowId, db: DbSession, principal: Annotated[Principal, allowed]
    ) -> Response:
        return files.download(db, principal, batch_id)

    async def import_results(
        request: Request,
        db: DbSession,
        principal: Annotated[Principal, allowed],
        file: Annotated[UploadFile, File(description=UPLOAD_DESCRIPTION)],
    ) -> Response:
        data, _name = await c.read_upload(file)
        try:
            summary = files.import_results(db, principal, decode_result_file(data))
        except DomainError as exc:
            return render_page(
                request, db, principal, error=exc.message(lang_of(request)), status_code=400
            )
        return render_page(request, db, principal, summary=summary)

    router.add_api_route(
        page.path,
        show,
        methods=["GET"],
        name=page.name,
        response_class=HTMLResponse,
        summary=page.page_summary,
    )
    router.add_api_route(
        f"{page.path}/export", export_batch, methods=["POST"], summary=page.export_summary
    )
    router.add_api_route(page.file_path, batch_file, methods=["GET"], summary=page.file_summary)
    router.add_api_route(
        f"{page.path}/results",
        import_results,
        methods=["POST"],
        response_class=HTMLResponse,
        summary=page.results_summary,
    )
