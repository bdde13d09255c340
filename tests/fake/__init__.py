"""Tests of the fake Chronicle (methodic_fake), driven through the real SDK."""
