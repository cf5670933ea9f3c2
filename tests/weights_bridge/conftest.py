"""Torch on one thread: on a shared 2-core CI machine its thread pool otherwise spins against
Paddle's and the parity tests run several times slower."""

import torch

torch.set_num_threads(1)
