import sys

from mathdl.cli import main

sys.exit(main())
