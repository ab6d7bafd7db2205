"""The simulated city's checkpoints (模拟进度): where a run stands after each month.

A full-scale run takes hours; each month commits with a checkpoint row in the same transaction
(the month, the run's scale and seed, and the state carried from month to month: the random
generator, the late employers, the failing debits, the year's placement rate), so a run that
stops can go on from the last month it finished (``hpf sim run --resume``) and end with the same
books as one that never stopped.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base


class SimCheckpoint(Base):
    """One month of the simulated city done: the state the next month starts from (JSON)."""

    __tablename__ = "sim_checkpoint"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    scale: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(Text)
