import sys

from licentia.server.cli import main

sys.exit(main())
