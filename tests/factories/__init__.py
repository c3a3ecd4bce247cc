"""Small test-data factories: each makes one resource through the real RPCs, with defaults for
every required field, so a test names only what it is about."""
