"""``python -m npusim`` runs the command-line interface."""

from npusim.cli import main

raise SystemExit(main())
