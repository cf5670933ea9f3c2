"""Convert a checkpoint between the upstream PyTorch layout and paddle_conv, either way.

    python tools/convert_weights.py --model oct_resnet50 --src model_best.pth.tar --dst oct_resnet50.pdparams
    python tools/convert_weights.py --model oct_resnet50 --src model.pdparams --dst model.pth --check
    python tools/convert_weights.py --inspect model_best.pth.tar

The source format is read from the file's content (or --from), the output is the other framework's; any
mismatch stops before the output is written (docs/weights-bridge.md; Keras weights: docs/cct.md).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import torch  # noqa: E402

from paddle_conv.cli import print_error, printable, run_cli  # noqa: E402
from paddle_conv.errors import PaddleConvError, WeightsError  # noqa: E402
from paddle_conv.io import atomic_paddle_save, atomic_write  # noqa: E402
from paddle_conv.registry import MODELS  # noqa: E402
from weights_bridge import convert_state, paddle_to_torch, read_checkpoint, torch_to_paddle  # noqa: E402
from weights_bridge.checkpoint import FORMATS, detect_format, suffix_format  # noqa: E402
from weights_bridge.identify import best_matches  # noqa: E402
from weights_bridge.keras_cct import keras_to_paddle  # noqa: E402
from weights_bridge.parity import compare_outputs  # noqa: E402
from weights_bridge.references import REFERENCES, create_reference  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inspect", metavar="FILE", help="print what FILE holds and the model it fits; write nothing")
    parser.add_argument("--model", help="registered model name, e.g. oct_resnet50")
    parser.add_argument("--src", help="input checkpoint (torch file of any name, or .pdparams)")
    parser.add_argument("--dst", help="output checkpoint (.pdparams, or a torch name such as .pth)")
    parser.add_argument("--from", dest="src_format", choices=FORMATS,
                        help="format of --src when its content should not decide")
    parser.add_argument("--key", help="entry of the file holding the weights, e.g. model_ema ('/' descends)")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classifier size of the checkpoint (default: the model's)")
    parser.add_argument("--model-kwargs", type=json.loads, default={}, metavar="JSON",
                        help='further builder keywords, e.g. \'{"conv": "refconv"}\' for conv_resnet50')
    parser.add_argument("--allow-missing", action="append", default=[], metavar="PATTERN",
                        help="checkpoint keys (shell pattern) the file may lack: left as initialised; repeatable")
    parser.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                        help="checkpoint keys (shell pattern) to drop; the model keeps its own; repeatable")
    parser.add_argument("--allow-nonfinite", action="store_true", help="convert NaN / infinite weights too")
    parser.add_argument("--check", action="store_true",
                        help="run one input through both models and print the differences")
    parser.add_argument("--input-size", type=int, default=224, help="--check input height and width")
    args = parser.parse_args(argv)
    if args.inspect is None and not (args.model and args.src and args.dst):
        parser.error("--model, --src and --dst are required (or --inspect FILE)")
    return args


def check_destination(dst, fmt):
    """Refuse an output path that cannot be written or does not name a ``fmt`` file, before converting."""
    if os.path.isdir(dst):
        raise WeightsError(f"cannot write {dst!r}: it is a directory; give --dst a file name, e.g. "
                           f"{os.path.join(dst, 'model')}{'.pdparams' if fmt == 'paddle' else '.pth'}")
    parent = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(parent):
        what = "is a file" if os.path.exists(parent) else "does not exist"
        raise WeightsError(f"cannot write {dst!r}: its folder {parent!r} {what}; create the folder first")
    named = suffix_format(dst)
    if named is not None and named != fmt:
        raise WeightsError(f"cannot write {dst!r}: the source is a {'torch' if fmt == 'paddle' else 'paddle'} "
                           f"checkpoint, so the output is a {fmt} one; name it "
                           f"{'*.pdparams' if fmt == 'paddle' else '*.pth (or .pt, .pth.tar, .ckpt, .bin)'}")


def check(model, found, result, out_format, kwargs, input_size):
    """Print the max diffs per output of both models, built from the source and the converted state dicts (after a
    partial transfer, the side lacking keys is converted back from the complete result)."""
    partial = bool(result.initialised or result.ignored)
    if out_format == "paddle":
        paddle_state = result.state
        torch_state = paddle_to_torch(result.state, model, **kwargs) if partial else found.state
    else:
        torch_state = result.state
        paddle_state = torch_to_paddle(result.state, model, **kwargs) if partial else found.state
    reference = create_reference(model, **kwargs)
    missing, unexpected = reference.load_state_dict(torch_state, strict=False)
    # the conversion already checked the keys; old checkpoints may lack num_batches_tracked
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    layer = MODELS.build(model, **kwargs)
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
        say(f"check {model} [1, 3, {input_size}, {input_size}]: {d} (max |y| {scale:.3g})")
    return all(d.ok for d in diffs)


def say(line):
    """Print ``line`` escaped (:func:`~paddle_conv.cli.printable`): a key or file name cannot forge a line."""
    print(printable(line))


def inspect(path, fmt, key):
    found = read_checkpoint(path, fmt, key)
    say(f"file: {path}")
    say(f"format: {found.format}")
    for line in found.notes():
        say(line)
    dtypes = sorted({str(getattr(v, "dtype", "?")).replace("torch.", "").replace("paddle.", "")
                     for v in found.state.values()})
    say(f"tensors: {len(found.state)} ({', '.join(dtypes)})")
    matches = best_matches(found.state, "torch" if found.format == "torch" else "paddle")
    for rank, m in enumerate(matches):
        say(f"{'model' if rank == 0 else 'next'}: {m}")
    if not matches:
        say("model: none of the registered models has keys in common with it")
    return 0


def model_kwargs(args):
    """Builder keywords from ``--num-classes`` and ``--model-kwargs``, range-checked."""
    for flag, value in (("--num-classes", args.num_classes), ("--input-size", args.input_size)):
        if value is not None and value < 1:
            raise WeightsError(f"{flag} must be a positive integer, got {value}")
    if not isinstance(args.model_kwargs, dict):
        raise WeightsError(f"--model-kwargs must be a JSON object such as '{{\"conv\": \"refconv\"}}', "
                           f"got {args.model_kwargs!r}")
    return dict(args.model_kwargs, **({} if args.num_classes is None else {"num_classes": args.num_classes}))


def convert_keras(args):
    """Keras 3 ``.weights.h5`` -> ``.pdparams`` (:mod:`weights_bridge.keras_cct`)."""
    if args.check:
        raise WeightsError("--check compares with a torch reference; Keras weights have none here (the Keras "
                           "parity test is tests/weights_bridge/test_keras_cct.py): drop --check")
    check_destination(args.dst, "paddle")
    converted = keras_to_paddle(args.src, args.model, args.num_classes)
    atomic_paddle_save(converted, args.dst)
    say(f"wrote {args.dst} ({len(converted)} tensors, keras to paddle, model {args.model})")
    return 0


def convert(args):
    named = detect_format(args.src) if os.path.lexists(args.src) else None  # a FIFO, a device...: refused
    if (args.src_format or named or suffix_format(args.src)) == "keras":
        return convert_keras(args)
    kwargs = model_kwargs(args)
    if args.model not in REFERENCES:
        MODELS.get(args.model)  # an unknown name raises UnknownNameError listing the closest
        raise WeightsError(f"model {args.model!r} has no torch reference; convertible models: "
                           f"{', '.join(REFERENCES.names())}")
    found = read_checkpoint(args.src, args.src_format, args.key)
    out_format = "paddle" if found.format == "torch" else "torch"
    check_destination(args.dst, out_format)
    for line in found.notes():
        say(line)
    way = f"{found.format}_to_{out_format}"
    result = convert_state(found.state, args.model, way, allow_missing=args.allow_missing, ignore=args.ignore,
                           allow_nonfinite=args.allow_nonfinite, **kwargs)
    for line in result.notes:
        say(line)
    if args.allow_missing or args.ignore:
        say(f"filled from the checkpoint ({len(result.filled)}): {', '.join(result.filled)}")
        say(f"left as initialised ({len(result.initialised)}): {', '.join(result.initialised) or '-'}")
        if result.ignored:
            say(f"ignored checkpoint keys ({len(result.ignored)}): {', '.join(result.ignored)}")
    if out_format == "paddle":
        atomic_paddle_save(result.state, args.dst)
    else:
        atomic_write(args.dst, lambda tmp: torch.save(result.state, tmp))
    say(f"wrote {args.dst} ({len(result.state)} tensors, {found.format} to {out_format}, model {args.model})")
    return 0 if not args.check or check(args.model, found, result, out_format, kwargs, args.input_size) else 1


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.inspect is not None:
            return inspect(args.inspect, args.src_format, args.key)
        return convert(args)
    except PaddleConvError as exc:
        return print_error(exc)


if __name__ == "__main__":
    sys.exit(run_cli(main))
