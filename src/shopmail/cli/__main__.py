"""``python -m shopmail.cli``: the same as the ``shopmail`` command."""

from shopmail.cli import main

raise SystemExit(main())
