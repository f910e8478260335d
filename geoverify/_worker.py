"""Entry point of the isolated decoder process: ``python -m geoverify._worker``."""

from geoverify._decode import child_main

if __name__ == "__main__":
    child_main()
