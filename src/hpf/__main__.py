"""``python -m hpf`` runs the CLI."""

from hpf.cli import main

main()
