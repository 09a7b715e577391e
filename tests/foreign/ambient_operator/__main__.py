import sys

from ambient_operator.controller import main

sys.exit(main())
