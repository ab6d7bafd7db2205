"""The leadership cockpit (领导驾驶舱, ``/console/cockpit``, ``dashboard.read``).

For the goal table of a year (``?year=``; default: the latest imported) every indicator is a
card — name, target, actual, completion, status colour (达成/进度正常/有风险/未达成), last year's
value — in large type for a projector. Below, the monthly trends of the money and count
indicators (ECharts, drawn by ``/static/cockpit.js`` from a ``<script type="application/json">``
block: the CSP forbids inline scripts) with the same months of the year before, and the drill-down
by branch (``?branch=``; the selector re-renders the trends through htmx). Staff of one branch
see their branch only. The same data as JSON: ``GET /api/v1/goals/{year}/report``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.web import cockpit as ck
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.security import DbSession, require
from hpf.web.templating import render

router = APIRouter(prefix="/console", tags=["pages: staff console"])

READ = "dashboard.read"
THIS_YEAR = N_("This year")
LAST_YEAR = N_("Same month last year")
TARGET = N_("Annual target")


def _cards(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i in report["indicators"]:
        out.append(
            {
                "seq": i["seq"],
                "name": i["name"],
                "binding": i["binding"],
                "target": i["target"]["text"],
                "actual": i["actual"]["text"],
                "completion": ck.percent(i["completion"]),
                "bar": ck.bar(i["completion"]),
                "status": i["status"],
                "style": ck.STATUS_STYLES[i["status"]],
                "status_label": ck.STATUS_LABELS[i["status"]],
                "source": ck.SOURCE_LABELS.get(i["source"], i["source"]),
                "last_year": i["history"]["last_year"]["text"],
                "projection": ck.figure(i["projection"], i["binding"])
                if i["binding"] in ck.TREND_TITLES
                else None,
                "kind": i["target"]["kind"],
                "evidence": i["evidence"],
            }
        )
    return out


def _charts(
    report: dict[str, Any], trends: list[ck.Trend], translate: Any, *, centre: bool
) -> dict[str, Any]:
    """The JSON the chart script draws: per binding, months, this year, last year, target."""
    targets: dict[str, float] = {}
    for i in report["indicators"]:
        value = i["target"]["value"]
        if value is not None and i["binding"] in ck.TREND_TITLES:
            scale = 10_000 if i["binding"] in ck.MONEY else 1
            targets.setdefault(i["binding"], round(float(value) / scale, 2))
    year = report["year"]
    return {
        "charts": {
            t.binding: {
                "title": translate(ck.TREND_TITLES[t.binding]),
                "months": [m[5:] for m in t.months],
                "series": [
                    {"name": f"{year} {translate(THIS_YEAR)}", "data": t.this_year},
                    {"name": f"{year - 1} {translate(LAST_YEAR)}", "data": t.last_year},
                ],
                "cumulative": [round(sum(t.this_year[: k + 1]), 2) for k in range(len(t.months))],
                "cumulative_name": translate(N_("Cumulative")),
                "target": targets.get(t.binding) if centre else None,
                "target_name": translate(TARGET),
            }
            for t in trends
        }
    }


def _branch_rows(
    session: Session, year: int, as_of: Any, bindings: list[str], branches: list[Any]
) -> list[dict[str, Any]]:
    rows = []
    for b in branches:
        totals = {t.binding: t.total for t in ck.trends(session, year, as_of, bindings, b.id)}
        rows.append({"id": b.id, "name": b.name, "totals": totals})
    return rows


@router.get("/cockpit", response_class=HTMLResponse, summary="Leadership cockpit 领导驾驶舱")
def cockpit(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(READ))],
    year: Annotated[int | None, Query(ge=1991, le=2100)] = None,
    branch: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    years = ck.years(db)
    if not years:
        return render(request, "console/cockpit.html", {"report": None, "years": []})
    chosen = year if year is not None else years[0]
    report = ck.evaluate(db, chosen, c.policy_of(request))
    as_of = ck.as_of_of(chosen)
    allowed = ck.branches(db, principal)
    scope = ck.branch_scope(principal, branch, allowed)
    bindings = [i["binding"] for i in report["indicators"] if i["binding"] in ck.TREND_TITLES]
    trends = ck.trends(db, chosen, as_of, bindings, scope)
    translate = request.app.state.catalogs.for_request(request)
    return render(
        request,
        "console/cockpit.html",
        {
            "report": report,
            "years": years,
            "year": chosen,
            "cards": _cards(report),
            "charts": _charts(report, trends, translate, centre=scope is None),
            "trend_titles": ck.TREND_TITLES,
            "trend_bindings": [t.binding for t in trends],
            "branches": allowed,
            "branch": scope,
            "whole_center": principal.whole_center,
            "branch_rows": _branch_rows(db, chosen, as_of, bindings, allowed)
            if principal.whole_center
            else [],
            "status_labels": ck.STATUS_LABELS,
            "status_styles": ck.STATUS_STYLES,
        },
    )
