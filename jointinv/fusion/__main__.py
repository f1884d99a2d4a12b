"""``python -m jointinv.fusion train CONFIG --store STORE --output FOLDER``."""

import sys

from .cli import main

sys.exit(main())
