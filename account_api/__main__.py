"""``python -m account_api ...``: see :mod:`account_api.cli`."""

from account_api.cli import main

raise SystemExit(main())
