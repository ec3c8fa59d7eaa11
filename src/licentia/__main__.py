import sys

from licentia.cli import main

sys.exit(main())
