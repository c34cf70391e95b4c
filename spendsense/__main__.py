"""`python -m spendsense` is the same as the `spendsense` command."""

import sys

from spendsense.cli import main

sys.exit(main())
