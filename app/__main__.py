"""`python -m app` opens the explorer, like `attention-lab`."""

import sys

from app.main import main

sys.exit(main())
