r"""How each family's Paddle names differ from its torch reference's: one :class:`KeyMapping` per
family, registered under the model names it serves (:func:`register_key_mapping`).

Families whose references use the Paddle names (OctConv, CCT, RefConv, TinyCNN, MobileNetV2, ResNet =
paddle.vision = torchvision) need none: the converter's structural rules (Linear transposed,
BatchNorm statistics renamed) are all there is. Each family's torch reference module
(:mod:`weights_bridge.references`) registers its family's mapping beside the reference:

* ``mobilenet_v1``: d-li14's ``features.i`` blocks -> paddle.vision's ``conv1``, ``conv2_1`` ...;
* ``ssd_lite``: the same under ``backbone.``;
* ``mobilenet_v3_small`` / ``_large``: torchvision's ``features.i.block.j`` -> paddle.vision's
  ``conv``, ``blocks.i.{expand_conv, bottleneck_conv, mid_se, linear_conv}``, ``lastconv``;
* ``shufflenet_v2_x1_0``: torchvision's ``conv1``, ``stageS.i.branchB.j``, ``conv5``, ``fc`` ->
  paddle.vision's ``_conv1``, ``S_{i+1}._conv_{dw,linear,pw}[_B]``, ``_last_conv``, ``_fc``;
* ``densenet121``: torchvision's ``features.denseblockB.denselayerL.{norm,conv}{1,2}``,
  ``features.transitionB``, ``norm0/5``, ``classifier`` -> paddle.vision's ``db_conv_{B+1}``,
  ``tr_conv{B+1}_blk``, ``conv1_func``, ``batch_norm``, ``out``;
* ``resnet50_dcn``, ``conv_resnet50``: torchvision-``DeformConv2d``-style ``conv2.offset_conv`` and
  ``conv2.mask_conv`` are concatenated (in that order, along the output channels) into Paddle's
  ``conv2.conv_offset``.
"""

import re
from dataclasses import dataclass

from paddle_conv.registry import Registry

__all__ = ["IDENTITY", "KEY_MAPPINGS", "KeyMapping", "key_mapping", "register_key_mapping"]


@dataclass(frozen=True)
class KeyMapping:
    r"""How one family's Paddle names differ from its torch reference's.

    Args:
        renames: ``(torch_pattern, paddle_replacement)`` regex pairs applied in order (``re.sub``)
            to torch keys and, by the layer-by-layer locator, to torch module paths: write them
            for module paths, e.g. ``(r"\bmlp\b", "ffn")``. Both directions use them: the plan
            is always made from the torch structure. Empty: identical names, the usual case.
        transforms: ``(torch_key_pattern, to_paddle, to_torch)``: functions on numpy arrays for
            keys whose layout differs beyond a Linear transpose (``re.fullmatch`` on the torch key).
        merged: regexes (``re.fullmatch``) of Paddle keys that are the concatenation, along axis 0
            in the torch reference's order, of the several torch tensors renamed to them (e.g.
            separate offset and mask convolutions kept as one in Paddle). Any other key reached
            by two torch keys is a bug of the mapping.
        aliases: ``(old_pattern, reference_name)`` regex pairs applied (``re.sub``) to the keys of
            a torch checkpoint before it is matched with the reference: older spellings of the
            same tensors that published files still use (torchvision's DenseNet ``norm.1``).
    """

    renames: tuple = ()
    transforms: tuple = ()
    merged: tuple = ()
    aliases: tuple = ()

    def paddle_key(self, torch_key):
        for pattern, repl in self.renames:
            torch_key = re.sub(pattern, repl, torch_key)
        return torch_key

    def reference_key(self, checkpoint_key):
        """The reference's name of a torch checkpoint's key (its :attr:`aliases` resolved)."""
        for pattern, repl in self.aliases:
            checkpoint_key = re.sub(pattern, repl, checkpoint_key)
        return checkpoint_key

    def transform_for(self, torch_key):
        for pattern, to_paddle, to_torch in self.transforms:
            if re.fullmatch(pattern, torch_key):
                return to_paddle, to_torch
        return None

    def is_merged(self, paddle_key):
        return any(re.fullmatch(pattern, paddle_key) for pattern in self.merged)


IDENTITY = KeyMapping()
KEY_MAPPINGS = Registry("weight key mapping")


def register_key_mapping(mapping, *model_names):
    """Use ``mapping`` for the models ``model_names`` (one call per family)."""
    for name in model_names:
        KEY_MAPPINGS.register(mapping, name=name)
    return mapping


def key_mapping(model_name):
    """The family mapping of ``model_name`` (identity names when none is registered)."""
    return KEY_MAPPINGS.get(model_name) if model_name in KEY_MAPPINGS else IDENTITY
