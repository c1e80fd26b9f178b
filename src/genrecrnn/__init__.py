"""genrecrnn: music genre classification with a CRNN on multiframe log-mel spectrograms."""

__version__ = "0.1.0"
