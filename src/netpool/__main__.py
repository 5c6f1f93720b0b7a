import sys

from .cli import exit_as_interrupted, interrupted, main

code = main()
if interrupted:
    exit_as_interrupted()
sys.exit(code)
