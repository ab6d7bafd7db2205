"""Performance goals (绩效目标): goal-table import, indicators bound to the books, self-evaluation."""
