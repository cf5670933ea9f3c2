"""paddle_conv: modern convolution variants for PaddlePaddle, with a PyTorch weight bridge.

Paddle itself is an extra: CPU users take ``[cpu]`` (``paddlepaddle``), GPU users install
``paddlepaddle-gpu`` themselves first, then ``pip install -e .`` without ``[cpu]``.
"""

from setuptools import find_packages, setup

EXTRAS = {
    "cpu": ["paddlepaddle>=3.0"],
    # Pinned: on a CPU-only machine this exact release is a CPU wheel; other specs pull CUDA builds.
    # threadpoolctl: tools/benchmark_det_loss.py gives NumPy's BLAS the thread count torch and Paddle get.
    "torch": ["torch==2.13.0", "threadpoolctl>=3"],
    # opencv-python-headless: PaddleClas's default image backend (DecodeImage/ResizeImage `backend: cv2`), a CPU
    # wheel without GUI libraries; 4.10 is the first built for NumPy 2.
    "train": ["visualdl>=2.5", "scikit-learn>=1.3", "opencv-python-headless>=4.10"],
    # ONNX export (tools/export.py --onnx) and ONNX Runtime; paddle2onnx 2.1 reads Paddle 3's .json programs.
    "onnx": ["paddle2onnx>=2.1.0", "onnxruntime>=1.17"],
    # PaddleClas's model zoo (ppcls.arch); its engine and tools/train.py come from a source checkout
    # (see README "PaddleClas"). It pins numpy==1.24.4: give it an environment of its own.
    "paddleclas": ["paddleclas==2.6.0"],
    # h5py: reading Keras .weights.h5 files (tools/convert_weights.py); 3.11 is the first with visititems_links,
    # which lists links without following them (weights_bridge.safe_hdf5).
    "keras": ["h5py>=3.11"],
    # keras: the parity test of cct_keras_cifar against Keras 3 itself (KERAS_BACKEND=torch).
    "test": ["pytest>=7", "hypothesis>=6", "ruff>=0.5", "mypy>=1.10", "scikit-learn>=1.3", "keras>=3", "h5py>=3.11"],
}
EXTRAS["all"] = sorted({req for name, reqs in EXTRAS.items() if name != "paddleclas" for req in reqs})

setup(
    name="paddle_conv",
    version="0.1.0",
    description="Modern convolution variants for PaddlePaddle, with a PyTorch weight bridge",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["paddle_conv", "paddle_conv.*", "weights_bridge", "weights_bridge.*"]),
    # The C++ operators' sources, compiled on first use (paddle_conv/layers/native_ops.py).
    package_data={"paddle_conv.layers": ["native/*.cc", "native/*.h"]},
    python_requires=">=3.9",
    install_requires=["numpy", "pyyaml>=5.4", "pillow"],
    extras_require=EXTRAS,
)
