"""``python -m genlab.cli``."""

from genlab.cli import main

main()
