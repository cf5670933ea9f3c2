"""Convert a checkpoint between the upstream PyTorch layout and paddle_conv, either way.

    python tools/convert_weights.py --model oct_resnet50 --src oct_resnet50.pth --dst oct_resnet50.pdparams
    python tools/convert_weights.py --model oct_resnet50 --src model.pdparams --dst model.pth --check

The direction follows the extensions: ``.pth``/``.pt`` -> ``.pdparams`` or back. Torch files are
read with ``torch.load(..., weights_only=True)`` (a pickled checkpoint can run code). Any
mismatch stops the conversion before the output is written; the output is written atomically.
``--check`` loads both models and prints, per output, the max abs and relative difference on one
random input.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import torch  # noqa: E402

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.errors import PaddleConvError, WeightsError  # noqa: E402
from paddle_conv.io import atomic_paddle_save, atomic_write, safe_paddle_load, safe_torch_load  # noqa: E402
from paddle_conv.registry import MODELS, create_model  # noqa: E402
from weights_bridge import paddle_to_torch, torch_to_paddle, unwrap_state_dict  # noqa: E402
from weights_bridge.parity import compare_outputs  # noqa: E402
from weights_bridge.references import REFERENCES, create_reference  # noqa: E402

TORCH_EXTS = (".pth", ".pt")
PADDLE_EXTS = (".pdparams",)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="registered model name, e.g. oct_resnet50")
    parser.add_argument("--src", required=True, help="input checkpoint (.pth/.pt or .pdparams)")
    parser.add_argument("--dst", required=True, help="output checkpoint (.pdparams or .pth/.pt)")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classifier size of the checkpoint (default: the model's, 1000)")
    parser.add_argument("--check", action="store_true",
                        help="run one input through both models and print the differences")
    parser.add_argument("--input-size", type=int, default=224, help="--check input height and width")
    return parser.parse_args(argv)


def direction(src, dst):
    """``"torch_to_paddle"`` or ``"paddle_to_torch"`` from the file extensions."""
    src_ext, dst_ext = os.path.splitext(src)[1].lower(), os.path.splitext(dst)[1].lower()
    if src_ext in TORCH_EXTS and dst_ext in PADDLE_EXTS:
        return "torch_to_paddle"
    if src_ext in PADDLE_EXTS and dst_ext in TORCH_EXTS:
        return "paddle_to_torch"
    raise WeightsError(f"cannot tell the direction from {src!r} -> {dst!r}: use .pth/.pt -> .pdparams "
                       "or .pdparams -> .pth")


def read_checkpoint(path):
    """The flat state dict in ``path`` (torch files with ``weights_only=True``)."""
    if not os.path.isfile(path):
        raise WeightsError(f"checkpoint {path!r} does not exist")
    is_torch = os.path.splitext(path)[1].lower() in TORCH_EXTS
    obj = safe_torch_load(path) if is_torch else safe_paddle_load(path)
    return unwrap_state_dict(obj)


def check(model, state, direction_name, kwargs, input_size):
    """Build both models with the converted pair of state dicts; print max diffs per output."""
    torch_state, paddle_state = state if direction_name == "torch_to_paddle" else state[::-1]
    reference = create_reference(model, **kwargs)
    missing, unexpected = reference.load_state_dict(torch_state, strict=False)
    # torch_to_paddle already checked the keys; old checkpoints may lack num_batches_tracked
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    with paddle.LazyGuard():
        layer = create_model(model, **kwargs)
    layer.set_state_dict(paddle_state)
    reference.eval()
    layer.eval()
    x = np.random.default_rng(0).standard_normal((1, 3, input_size, input_size)).astype("float32")
    with torch.no_grad():
        t_out = reference(torch.from_numpy(x))
    with paddle.no_grad():
        p_out = layer(paddle.to_tensor(x))
    diffs = compare_outputs("output", t_out, p_out)
    scale = max(float(np.abs(t.detach().numpy()).max()) for t in (t_out if isinstance(t_out, tuple) else [t_out])
                if t is not None)
    for d in diffs:
        print(f"check {model} [1, 3, {input_size}, {input_size}]: {d} (max |y| {scale:.3g})")
    return all(d.ok for d in diffs)


def convert(args):
    if args.model not in REFERENCES:
        MODELS.get(args.model)  # an unknown name raises UnknownNameError listing the closest
        raise WeightsError(f"model {args.model!r} has no torch reference; convertible models: "
                           f"{', '.join(REFERENCES.names())}")
    way = direction(args.src, args.dst)
    kwargs = {} if args.num_classes is None else {"num_classes": args.num_classes}
    source = read_checkpoint(args.src)
    if way == "torch_to_paddle":
        converted = torch_to_paddle(source, args.model, **kwargs)
        atomic_paddle_save(converted, args.dst)
    else:
        converted = paddle_to_torch(source, args.model, **kwargs)
        atomic_write(args.dst, lambda tmp: torch.save(converted, tmp))
    print(f"wrote {args.dst} ({len(converted)} tensors, {way.replace('_', ' ')}, model {args.model})")
    if args.check:
        return 0 if check(args.model, (source, converted), way, kwargs, args.input_size) else 1
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        return convert(args)
    except PaddleConvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run_cli(main))
