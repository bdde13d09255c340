"""pytest plugin providing the `methodic_fake` fixture (filled in by the fake's harness)."""
