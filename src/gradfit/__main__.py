"""``python -m gradfit`` runs the command line."""

import sys

from gradfit.cli import main

sys.exit(main())
