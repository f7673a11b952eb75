#!/usr/bin/env python
"""Django's command-line utility; `counterfoil manage ...` is the same thing."""

import sys

from counterfoil.cli import run_manage

if __name__ == "__main__":
    run_manage(sys.argv[1:])
