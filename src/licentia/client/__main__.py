"""``python -m licentia.client``: the same as the ``licentia-client`` command."""

from licentia.client.cli import main

raise SystemExit(main())
