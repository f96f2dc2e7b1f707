"""``python -m genlab``: the command line (same as the ``genlab`` console script)."""

from genlab.cli import main

if __name__ == "__main__":
    main()
