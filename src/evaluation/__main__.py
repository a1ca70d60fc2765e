"""`python -m evaluation` = the `evaluation` command."""

from evaluation.cli import console

console()
