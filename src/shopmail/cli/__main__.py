"""``python -m shopmail.cli``: the same as the ``shopmail`` command."""

from shopmail.cli import main

if __name__ == "__main__":  # not when a spawned process (flows.validation.Ahead) imports it as __mp_main__
    raise SystemExit(main())
