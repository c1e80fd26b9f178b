"""The test split scored: the CRNN against the classical baselines, and what the CRNN learned."""
