"""Where the tools start: Paddle's known warnings kept back, unless ``--verbose`` is given (call it before
importing Paddle). Each is matched by its text *and* Paddle module, so no other warning is ever hidden.
"""

import os
import warnings

#: (message regex, module regex) of Paddle's known noise.
PADDLE_NOISE = (
    (r"No ccache found", r"paddle\.utils\.cpp_extension"),  # at import: ccache is for C++ extensions
    (r"When training, we now always track global mean and variance", r"paddle\.nn\.layer\.norm"),  # every BN call
    (r"full_graph=False don't support input_spec", r"paddle\.jit\.dy2static"),  # paddle.Model with InputSpec
    (r"To copy construct from a tensor", r"paddle\.tensor\.creation"),  # paddle.Model's own metric update
)


def quiet_unless_verbose(argv):
    """Filter :data:`PADDLE_NOISE` and Paddle's C++ INFO log lines unless ``--verbose`` is in ``argv``."""
    if "--verbose" in argv:
        return
    os.environ.setdefault("GLOG_minloglevel", "1")  # "I... New Executor is Running." and other INFO lines
    for message, module in PADDLE_NOISE:
        warnings.filterwarnings("ignore", message=message, category=UserWarning, module=module)
