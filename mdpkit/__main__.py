"""``python -m mdpkit`` is the ``mdpkit`` command."""

import sys

from .cli import main

sys.exit(main())
