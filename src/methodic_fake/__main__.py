"""`python -m methodic_fake serve ...` - same as the `methodic-fake` command."""

from methodic_fake.cli import main

raise SystemExit(main())
