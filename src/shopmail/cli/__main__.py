"""``python -m shopmail.cli``: the same as the ``shopmail`` command."""

from shopmail.cli import main

if __name__ == "__main__":  # only when run, not when imported (e.g. by a spawned process as __mp_main__)
    raise SystemExit(main())
