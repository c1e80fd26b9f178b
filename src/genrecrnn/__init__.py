"""genrecrnn: music genre classification with a CRNN on multiframe log-mel spectrograms."""

from genrecrnn import quiet

__version__ = "0.1.0"

quiet.install()  # before anything imports tensorflow: its C++ start-up lines stay off stderr (see quiet.py)
