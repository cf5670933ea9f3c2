"""Training engine: checkpoints, trainers and the pieces tools/ build from a config."""
