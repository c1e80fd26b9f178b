"""Presentation: the figures and the self-contained HTML report."""
