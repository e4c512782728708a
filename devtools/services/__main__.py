"""``python -m aiqleads_dev.services up|down|status``."""

import sys

from aiqleads_dev.services.commands import main

sys.exit(main(sys.argv[1:]))
