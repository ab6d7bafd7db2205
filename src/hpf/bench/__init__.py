"""The benchmark suite (性能基准): ``hpf bench`` times each batch path and two API endpoints
against a raw-database baseline measured in the same run. docs/benchmarks.md."""
