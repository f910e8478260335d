"""``python -m geoverify``: the same as the ``geoverify`` command."""

from geoverify.cli import main

if __name__ == "__main__":
    main()
