"""``python -m jointinv.dataset build CONFIG --output STORE`` (see :mod:`.cli`)."""

import sys

from .cli import main

sys.exit(main())
