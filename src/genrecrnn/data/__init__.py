"""Audio in, data set out: decoding, the sources (synthetic, GTZAN, FMA, folders), the split, index files."""
