"""The published weights paddle_conv knows, by model name: where they are, what they score.

URLs and numbers are the upstream projects' own (their READMEs and model tables, read on
2026-11-30). ``sha256=None`` means no machine of ours could fetch the file to pin it: the first
download prints its SHA-256 for the user to pin, and an ``md5`` is checked where the upstream
publishes one. Converters name how a file becomes our state dict: ``"torch"`` goes through
:mod:`weights_bridge` (upstream PyTorch layout), ``"paddle"`` is already ours.

A model's first entry is what ``pretrained=True`` loads (Paddle's own file first where there is
one: it needs no conversion). Not listed, because the authors publish none: Oct-ResNet-26/200
(d-li14 publishes 50/101/152), RefConv (Aiolus-X/RefConv ships code only), the Keras CCT example,
``ssd_lite``, ``tiny_cnn``.
"""

from __future__ import annotations

from ..cards import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD, WeightEntry

_DLI14 = "d-li14/octconv.pytorch"
_SHI = "SHI-Labs/Compact-Transformers"
_SHI_URL = "https://shi-labs.com/projects/cct/checkpoints/"
_HAPI = "PaddlePaddle/Paddle (paddle.vision.models)"
_IMAGENET = dict(num_classes=1000, input_size=(3, 224, 224), mean=IMAGENET_MEAN, std=IMAGENET_STD)


def _drive(file_id):
    return f"https://drive.google.com/file/d/{file_id}/view"


def _dli14(model, tag, file_id, top1, top5):
    return WeightEntry(model=model, name=tag, urls=(_drive(file_id),), file_name=f"{model}_{tag}_dli14.pth",
                       file_format="torch", converter="torch", license="Apache-2.0", upstream=_DLI14,
                       dataset="imagenet-1k", metrics={"top1": top1, "top5": top5}, **_IMAGENET)


def _cct(model, tag, path, dataset, top1, num_classes, input_size):
    return WeightEntry(model=model, name=tag, urls=(_SHI_URL + path,), file_name=path.rsplit("/", 1)[1],
                       file_format="torch", converter="torch", license="Apache-2.0", upstream=_SHI,
                       dataset=dataset, metrics={"top1": top1}, num_classes=num_classes,
                       input_size=input_size, **({"mean": CIFAR10_MEAN, "std": CIFAR10_STD} if "cifar" in dataset
                                                 else {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}))


def _hapi(model, file_name, md5, host="https://paddle-hapi.bj.bcebos.com/models/"):
    return WeightEntry(model=model, name="paddle_imagenet", urls=(host + file_name,), file_name=file_name,
                       file_format="paddle", converter="paddle", license="Apache-2.0", upstream=_HAPI,
                       dataset="imagenet-1k", metrics={}, md5=md5, **_IMAGENET)


def _amdegroot(name, file_name, map07):
    # amdegroot feeds BGR pixels minus (104, 117, 123): in RGB 0..1 terms, this mean and std 1/255
    return WeightEntry(model="ssd300_vgg16", name=name, urls=(f"https://s3.amazonaws.com/amdegroot-models/{file_name}",),
                       file_name=file_name, file_format="torch", converter="torch", license="MIT",
                       upstream="amdegroot/ssd.pytorch", dataset="voc07+12", metrics={"mAP": map07}, num_classes=21,
                       input_size=(3, 300, 300), mean=(123 / 255, 117 / 255, 104 / 255), std=(1 / 255,) * 3)


WEIGHTS: tuple[WeightEntry, ...] = (
    _dli14("oct_resnet50", "imagenet_cosine", "1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S", 77.640, 93.662),
    _dli14("oct_resnet101", "imagenet_cosine", "1E3To8EZDlVX8EfIU4q4r6SHDUHStKOqG", 78.794, 94.330),
    _dli14("oct_resnet152", "imagenet_cosine", "1lmNaN8W-ky91je2hbPfUv4va6Uj4_qw1", 79.258, 94.480),
    _dli14("oct_mobilenet", "imagenet_cosine", "1hpXYlHuTLeg04BOTFInrDYsaM4P-b0vK", 71.254, 89.728),
    _hapi("resnet50", "resnet50.pdparams", "ca6f485ee1ab0492d38f323885b0ad80"),
    _hapi("mobilenet_v1", "mobilenetv1_1.0.pdparams", "3033ab1975b1670bef51545feb65fc45"),
    _hapi("resnet18", "resnet18.pdparams", "cf548f46534aa3560945be4b95cd11c4"),
    _hapi("resnet34", "resnet34.pdparams", "8d2275cf8706028345f78ac0e1d31969"),
    _hapi("resnet101", "resnet101.pdparams", "02f35f034ca3858e1e54d4036443c92d"),
    _hapi("mobilenet_v2", "mobilenet_v2_x1.0.pdparams", "0340af0a901346c8d46f4529882fb63d"),
    _hapi("mobilenet_v3_small", "mobilenet_v3_small_x1.0.pdparams", "34fe0e7c1f8b00b2b056ad6788d0590c"),
    _hapi("mobilenet_v3_large", "mobilenet_v3_large_x1.0.pdparams", "118db5792b4e183b925d8e8e334db3df"),
    _hapi("shufflenet_v2_x1_0", "shufflenet_v2_x1_0.pdparams", "122d42478b9e81eb49f8a9ede327b1a4"),
    _hapi("densenet121", "DenseNet121_pretrained.pdparams", "db1b239ed80a905290fd8b01d3af08e4",
          host="https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/"),
    _dli14("mobilenet_v1", "imagenet_cosine_dli14", "14FBekvITT77z2LX_2utFGMteK3gxN1vn", 72.238, 90.536),
    _dli14("resnet50", "imagenet_cosine_dli14", "1_aconGn2oZB1Bvgq65g2tsqSI7CSPAEt", 77.150, 93.468),
    _dli14("resnet50", "imagenet_step_dli14", "1n7H6WNrvtf0eyWeWotbWD1kb95iVWaze", 76.010, 92.834),
    WeightEntry(model="resnet50", name="imagenet_torchvision_v1",
                urls=("https://download.pytorch.org/models/resnet50-0676ba61.pth",),
                file_name="resnet50-0676ba61.pth", file_format="torch", converter="torch", license="BSD-3-Clause",
                upstream="pytorch/vision (ResNet50_Weights.IMAGENET1K_V1)", dataset="imagenet-1k",
                metrics={"top1": 76.130, "top5": 92.862}, sha256="0676ba61", **_IMAGENET),
    _amdegroot("voc0712", "ssd300_mAP_77.43_v2.pth", 77.43),
    _amdegroot("voc0712_caffe", "ssd_300_VOC0712.pth", 77.26),
    _cct("cct_7_3x1_32", "cifar10_300ep", "pretrained/cct_7_3x1_32_cifar10_300epochs.pth", "cifar-10", 96.53, 10,
         (3, 32, 32)),
    _cct("cct_7_3x1_32", "cifar100_300ep", "pretrained/cct_7_3x1_32_cifar100_300epochs.pth", "cifar-100", 80.92, 100,
         (3, 32, 32)),
    _cct("cct_7_3x1_32_sine", "cifar10_5000ep", "pretrained/cct_7_3x1_32_sine_cifar10_5000epochs.pth", "cifar-10",
         98.00, 10, (3, 32, 32)),
    _cct("cct_7_3x1_32_sine", "cifar10_1500ep", "pretrained/cct_7_3x1_32_sine_cifar10_1500epochs.pth", "cifar-10",
         97.48, 10, (3, 32, 32)),
    _cct("cct_7_3x1_32_sine", "cifar100_5000ep", "pretrained/cct_7_3x1_32_sine_cifar100_5000epochs.pth",
         "cifar-100", 82.87, 100, (3, 32, 32)),
    _cct("cct_7_3x1_32_sine", "cifar100_1500ep", "pretrained/cct_7_3x1_32_sine_cifar100_1500epochs.pth",
         "cifar-100", 82.72, 100, (3, 32, 32)),
    _cct("cct_7_7x2_224_sine", "flowers102", "pretrained/cct_7_7x2_224_flowers102.pth", "flowers-102", 97.19, 102,
         (3, 224, 224)),
    _cct("cct_14_7x2_224", "imagenet", "pretrained/cct_14_7x2_224_imagenet.pth", "imagenet-1k", 80.67, 1000,
         (3, 224, 224)),
    _cct("cct_14_7x2_384", "imagenet", "finetuned/cct_14_7x2_384_imagenet.pth", "imagenet-1k", 82.71, 1000,
         (3, 384, 384)),
    _cct("cct_14_7x2_384", "flowers102", "finetuned/cct_14_7x2_384_flowers102.pth", "flowers-102", 99.76, 102,
         (3, 384, 384)),
)
