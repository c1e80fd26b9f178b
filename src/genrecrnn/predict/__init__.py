"""The genre of any audio file: windows, frames and batches through a saved classifier."""
