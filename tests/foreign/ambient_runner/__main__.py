import sys

from ambient_runner.app import main

sys.exit(main())
