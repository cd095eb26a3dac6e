"""`python -m qa` runs the CLI (the same as the `qa` command)."""

from qa.cli import main

main()
