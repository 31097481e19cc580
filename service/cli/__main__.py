"""`python -m service.cli` = `musicrec`."""

import sys

from service.cli.main import main

sys.exit(main())
