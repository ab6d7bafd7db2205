"""Shared API shapes (接口数据结构): the problem document and the page of a paginated list."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, Field

T = TypeVar("T")

RowId = Annotated[int, Path(ge=1, le=2**62, description="Row id")]
"""A database id in a URL: bounded so no value overflows a BIGINT column."""


class ProblemOut(BaseModel):
    """RFC 9457 problem details with a Chinese ``detail`` and an English ``detail_en``."""

    type: str
    title: str
    title_en: str
    status: int
    detail: str
    detail_en: str
    code: str
    instance: str


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": ProblemOut,
        "content": {"application/problem+json": {}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Invalid input 输入有误"),
    422: _problem("Validation failed 参数校验失败"),
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    401: _problem("Not signed in 未登录"),
    403: _problem("Forbidden 无权办理"),
    404: _problem("Not found 未找到"),
}


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items`` plus the numbers to fetch the others."""

    items: list[T]
    page: int = Field(ge=1)
    size: int = Field(ge=1)
    total: int = Field(ge=0)
