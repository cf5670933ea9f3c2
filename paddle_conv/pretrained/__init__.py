"""Published weights: the download cache and loading them into models."""
