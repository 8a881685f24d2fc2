"""``python -m pacbits``: the command line, for launchers such as ``torchrun -m pacbits``."""
import sys

from pacbits.cli import main

sys.exit(main())
