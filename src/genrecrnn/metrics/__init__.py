"""Scores of probability arrays: clip probabilities, classification and ranking metrics, curves, intervals."""
