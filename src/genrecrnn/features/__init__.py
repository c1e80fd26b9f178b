"""Log-mel frames: computed from audio, stored in shards, augmented and batched for training."""
