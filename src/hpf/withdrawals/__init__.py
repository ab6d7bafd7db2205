"""提取 withdrawals: rules, applications through the workflow, bank payment batches, statistics."""
