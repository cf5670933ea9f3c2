"""VisualDL beyond scalars: the model graph, a confusion matrix per evaluation (image and table) and the
run's hyper-parameters with its final metrics. No PR curve: VisualDL 2.5.3's calls ``np.float``."""

import json
import os
import tempfile
import time

import numpy as np
import paddle

#: Scalars the Hyper Parameters page shows beside each run's settings (the last value of each).
HPARAM_METRICS = ["eval/acc_top1", "eval/acc_top5", "eval/loss", "train/loss"]


def hyper_parameters(cfg):
    """The run's settings worth comparing, as ``{name: number or string}`` (VisualDL takes no lists)."""
    g, opt, sampler = cfg["Global"], cfg["Optimizer"], cfg["DataLoader"]["Train"]["sampler"]
    out = {"arch": cfg["Arch"]["name"], "epochs": g["epochs"], "seed": g["seed"], "use_amp": str(g["use_amp"]),
           "optimizer": opt["name"], "lr_schedule": opt["lr"]["name"],
           "batch_size": sampler.get("batch_size", sampler.get("first_bs"))}
    for key, value in cfg["Arch"].items():
        if key != "name" and isinstance(value, (int, float, str, bool)):
            out[f"arch.{key}"] = value if not isinstance(value, bool) else str(value)
    if "learning_rate" in opt["lr"]:
        out["learning_rate"] = opt["lr"]["learning_rate"]
    return out


def _json_default(value):
    """Paddle ``Scalar`` attributes (constant tensors baked into the program) as plain numbers."""
    if type(value).__name__ == "Scalar":
        return value.value()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def write_graph(logdir, network, input_spec):
    """``LogWriter.add_graph`` (``vdlgraph.*.log``) with two fixes: constant ``Scalar`` attributes stored as
    numbers, and ``network`` keeps the ``forward`` it had (``to_static`` would replace the trainer's)."""
    from visualdl.component.graph.graph_component import analyse_model
    from visualdl.component.graph.utils import create_opname_scope

    network._full_name = f"{network.__class__.__name__}[model]"
    create_opname_scope(network)
    # convert the class's forward, not one set on the instance (Global.to_static's); put that back after
    own_forward, original_funcs = network.__dict__.pop("forward", None), dict(network._original_funcs)
    try:
        with tempfile.TemporaryDirectory() as tmp, paddle.pir_utils.OldIrGuard():
            paddle.jit.save(paddle.jit.to_static(network, input_spec), os.path.join(tmp, "graph"))
            with open(os.path.join(tmp, "graph.pdmodel"), "rb") as f:
                graph = analyse_model(f.read())
    finally:  # to_static replaced the layer's forward: put back the one training uses
        network.__dict__.pop("forward", None)
        if own_forward is not None:
            network.forward = own_forward
        network._original_funcs.clear()
        network._original_funcs.update(original_funcs)
    path = os.path.join(logdir, f"vdlgraph.{int(time.time()):010d}.log")
    with open(path, "w") as f:
        json.dump(graph, f, default=_json_default)
    return path


def confusion_matrix(labels, predictions, num_classes):
    """``[K, K]`` counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def _matrix_figure(matrix, names):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(matrix)
    fig = Figure(figsize=(1.2 + 0.45 * k, 1.0 + 0.45 * k), dpi=100)
    FigureCanvasAgg(fig)  # no pyplot: nothing global to close
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), names, rotation=90, fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.tight_layout()
    return fig


class VisualDLExtras(paddle.callbacks.Callback):
    """Graph at the start, a confusion matrix after each evaluation (``eval_loader`` run again, at most
    ``max_eval_samples``), ``hparams`` at the end (all at the end in a multi-process run), written through
    ``logger``'s writer (put it before the logger, which closes the writer). ``image_shape``: ``[C, H, W]``."""

    def __init__(self, logger, network, image_shape, hparams, eval_loader=None, class_names=None,
                 max_eval_samples=2000, start_epoch=0):
        super().__init__()
        self.logger, self.network, self.image_shape = logger, network, list(image_shape)
        self.hparams, self.eval_loader, self.class_names = hparams, eval_loader, class_names
        self.max_eval_samples, self.start_epoch, self.epoch = max_eval_samples, start_epoch, start_epoch
        self.deferred = False

    def _writer(self):
        if paddle.distributed.ParallelEnv().local_rank != 0:
            return None
        if not hasattr(self.logger, "writer"):
            from visualdl import LogWriter

            self.logger.writer = LogWriter(self.logger.log_dir)
        return self.logger.writer

    def on_train_begin(self, logs=None):
        # Under paddle.distributed.launch the other ranks would wait in their gradient all-reduce
        # while rank 0 writes (on CPU, gloo times out after ~30 s): defer all extras to the end.
        self.deferred = paddle.distributed.get_world_size() > 1
        if not self.deferred:
            self._write_graph()

    def _write_graph(self):
        writer = self._writer()
        if writer is None:
            return
        spec = [paddle.static.InputSpec([1, *self.image_shape], "float32", "image")]
        was_training = self.network.training
        try:
            write_graph(writer.logdir, self.network, spec)
        except Exception as exc:  # the graph is a nicety: never stop training for it
            print(f"VisualDL: model graph not written ({type(exc).__name__}: {exc})", flush=True)
        finally:
            self.network.train() if was_training else self.network.eval()

    def on_epoch_begin(self, epoch=None, logs=None):
        self.epoch = self.start_epoch + (epoch or 0)

    def predictions(self):
        """``(labels [N], probabilities [N, K])`` of the network on (the start of) the eval set."""
        was_training = self.network.training
        self.network.eval()
        labels, probs, seen = [], [], 0
        try:
            with paddle.no_grad():
                for images, label in self.eval_loader:
                    probs.append(paddle.nn.functional.softmax(self.network(images), axis=1).numpy())
                    labels.append(label.numpy().reshape(-1))
                    seen += len(labels[-1])
                    if seen >= self.max_eval_samples:
                        break
        finally:
            self.network.train() if was_training else self.network.eval()
        return np.concatenate(labels)[: self.max_eval_samples], np.concatenate(probs)[: self.max_eval_samples]

    def on_eval_end(self, logs=None):
        if not self.deferred:
            self._write_confusion_matrix()

    def _write_confusion_matrix(self):
        writer = self._writer()
        if writer is None or self.eval_loader is None:
            return
        labels, probs = self.predictions()
        k = probs.shape[1]
        names = self.class_names or [str(i) for i in range(k)]
        matrix = confusion_matrix(labels, probs.argmax(axis=1), k)
        writer.add_figure(tag="eval/confusion_matrix", figure=_matrix_figure(matrix, names), step=self.epoch)
        table = ["| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        table += [f"| {n} | " + " | ".join(str(v) for v in row) + " |" for n, row in zip(names, matrix)]
        writer.add_text(tag="eval/confusion_matrix_table", text_string="\n".join(table), step=self.epoch)

    def on_train_end(self, logs=None):
        if self.deferred:
            self._write_graph()
            self._write_confusion_matrix()
        writer = self._writer()
        if writer is not None:
            writer.add_hparams(hparams_dict=self.hparams, metrics_list=HPARAM_METRICS)
