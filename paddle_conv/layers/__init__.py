"""Building blocks: convolution variants and the layers models are made of."""
