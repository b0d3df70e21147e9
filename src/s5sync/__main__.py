"""`python -m s5sync` runs the CLI."""

from s5sync.entrypoints.cli import main

main()
