"""``python -m weldcell``: the same as the ``weldcell`` command."""

from weldcell.cli import main

if __name__ == "__main__":
    main()
