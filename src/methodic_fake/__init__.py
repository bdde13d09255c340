"""methodic_fake: an in-process, stateful fake of the Chronicle REST API."""
