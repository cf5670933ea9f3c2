"""Child process of the ``torch-default`` path: ``python -m paddle_conv.benchmark.torch_worker NAME NUM_CLASSES
WEIGHTS.pt INPUT.npy``; each ``run`` line on stdin runs one forward pass and prints ``wall_s cpu_s``."""

import sys
import time

import numpy as np
import torch

from weights_bridge.references import create_reference


def main(argv):
    name, num_classes, weights, inputs = argv
    ref = create_reference(name, num_classes=int(num_classes))
    ref.load_state_dict(torch.load(weights, weights_only=True), strict=True)
    ref.eval()
    x = torch.from_numpy(np.load(inputs, allow_pickle=False))
    for line in sys.stdin:
        if line.strip() != "run":
            break
        w0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            ref(x)
        print(f"{time.perf_counter() - w0} {time.process_time() - c0}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
