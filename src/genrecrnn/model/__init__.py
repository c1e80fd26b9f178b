"""The CRNN: its layers, training, distribution over devices, and the saved classifier."""
