"""`python -m s5sync` runs the CLI."""

from s5sync.cli import main

main()
