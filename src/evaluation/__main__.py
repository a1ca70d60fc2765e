"""`python -m evaluation` = the `evaluation` command."""

import sys

from evaluation.cli import main

sys.exit(main())
