"""Declarative base and naming conventions shared by every area's tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money is BIGINT fen on PostgreSQL; SQLite's INTEGER is already 64-bit and only an INTEGER
# PRIMARY KEY is a rowid alias, so ids use BigInteger with an SQLite variant.
Money = BigInteger
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Root of all hpf tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
