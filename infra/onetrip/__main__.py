"""`python -m infra.onetrip up|down|token|status`."""

import sys

from infra.onetrip.cli import main

sys.exit(main())
