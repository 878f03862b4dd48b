"""``python -m rsnn_brian`` runs the command line (the same as ``rsnn-brian``)."""

import sys

from .cli import main

sys.exit(main())
