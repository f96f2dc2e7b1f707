"""``python -m genlab.cli``."""

from genlab.cli import main

if __name__ == "__main__":
    main()
