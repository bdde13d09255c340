"""``python -m methodic``: the ``methodic`` command line (see ``methodic.cli``)."""

import sys

from methodic.cli import main

if __name__ == "__main__":
    sys.exit(main())
