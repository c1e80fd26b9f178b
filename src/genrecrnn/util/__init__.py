"""Plumbing that knows nothing of music: errors, atomic files, threads, quiet start-up, portable maths, parallelism."""
