"""Convert musicnn's MSD_musicnn TensorFlow checkpoint to ONNX, once, offline (never imported by the service).

musicnn 0.1.0 (PyPI, ISC licence, © Music Technology Group, Universitat Pompeu Fabra) ships its checkpoints in
its wheel. It pins numpy<1.17 and needs TensorFlow, so this runs in a throwaway venv outside the repository:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 "numpy<2" tf2onnx onnx==1.16.2   # newer onnx breaks TF 2.15
    /tmp/tfvenv/bin/python scripts/convert_musicnn.py \
        --out /tmp/musicnn_converted.onnx --fixture tests/data/musicnn_fixture.npz
    /tmp/tfvenv/bin/python scripts/optimise_musicnn.py /tmp/musicnn_converted.onnx \
        --out service/analysis/models/musicnn_msd.onnx --check tests/data/musicnn_fixture.npz

(the second step rewrites the front end to pool before it normalises: same outputs, ~40 % less time).

The graph is musicnn's own `models.define_model(x, False, "MSD_musicnn", 50)`: `is_training` is a Python bool,
so batch normalisation uses its moving statistics and dropout is left out of the graph. The checkpoint is
restored, the graph frozen and converted with tf2onnx (opset 17). One input, `melspec` (batch, 187, 96) float32
log-mel patches (musicnn's front end); two outputs, `penultimate` (batch, 200) and `tags` (batch, 50), the sigmoid
of the logits in configuration.MSD_LABELS order.

The conversion is not byte-reproducible (tf2onnx's node names vary), so the committed file's sha256 is pinned
in service/analysis/embedding_spec.py, and `--fixture` writes a few input patches with TensorFlow's outputs for
them, which tests/test_embedding.py compares onnxruntime's outputs against.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np

N_FRAMES = 187
N_MELS = 96
MODEL = "MSD_musicnn"


def build_and_freeze():
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    graph = tf.compat.v1.get_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS], name="melspec")
        logits, *_, penultimate = models.define_model(x, False, MODEL, len(config.MSD_LABELS))
        tags = tf.nn.sigmoid(logits)
    tf.identity(penultimate, name="penultimate")
    tf.identity(tags, name="tags")
    sess = tf.compat.v1.Session(graph=graph)
    sess.run(tf.compat.v1.global_variables_initializer())
    ckpt = os.path.join(os.path.dirname(models.__file__), MODEL) + "/"
    tf.compat.v1.train.Saver().restore(sess, ckpt)
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["penultimate", "tags"])
    return sess, frozen, config.MSD_LABELS


def _rename(model, old: str, new: str) -> None:
    for node in model.graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name == old:
            value.name = new


def fixture_patches(n: int = 3, seed: int = 0) -> np.ndarray:
    """Log-mel-like patches (musicnn's value range, 0..~4), made from a few synthetic spectrogram shapes and
    rounded to float16 so that they are stored exactly."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_FRAMES)[:, None]
    f = np.arange(N_MELS)[None, :]
    out = []
    for i in range(n):
        tilt = 3.5 - f / N_MELS * (1.5 + i)  # spectral tilt, brighter as i grows
        beats = (np.sin(2 * np.pi * t / (12 + 5 * i)) > 0.6) * (1.0 + 0.5 * (f < 20))  # percussive bursts
        partials = np.exp(-0.5 * ((f % (14 + 3 * i)) / 1.5) ** 2) * 1.2  # harmonic stripes
        patch = tilt + beats * (i % 2 == 0) + partials * (i % 2 == 1) + rng.normal(0, 0.3, (N_FRAMES, N_MELS))
        out.append(np.clip(patch, 0.0, 4.5))
    return np.stack(out).astype(np.float16).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fixture", type=Path)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    import onnx
    import tf2onnx

    sess, frozen, labels = build_and_freeze()
    model_proto, _ = tf2onnx.convert.from_graph_def(
        frozen,
        input_names=["model/melspec:0"],
        output_names=["penultimate:0", "tags:0"],
        opset=args.opset,
    )
    _rename(model_proto, "model/melspec:0", "melspec")
    _rename(model_proto, "penultimate:0", "penultimate")
    _rename(model_proto, "tags:0", "tags")
    model_proto.doc_string = "musicnn 0.1.0 MSD_musicnn (ISC, Music Technology Group, UPF), converted with tf2onnx"
    onnx.checker.check_model(model_proto)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model_proto, str(args.out))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {args.out.stat().st_size} bytes, sha256 {digest}")

    if args.fixture:
        patches = fixture_patches()
        g = sess.graph
        pen, tags = sess.run(
            [g.get_tensor_by_name("penultimate:0"), g.get_tensor_by_name("tags:0")],
            feed_dict={g.get_tensor_by_name("model/melspec:0"): patches},
        )
        args.fixture.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            args.fixture,
            melspec=patches.astype(np.float16),
            penultimate=pen.astype(np.float32),
            tags=tags.astype(np.float32),
            labels=np.array(labels),
        )
        print(f"{args.fixture}: {args.fixture.stat().st_size} bytes")
        try:
            import onnxruntime as ort

            got = ort.InferenceSession(str(args.out)).run(None, {"melspec": patches})
            print("max |onnx - tf|: penultimate", np.abs(got[0] - pen).max(), "tags", np.abs(got[1] - tags).max())
        except ImportError:
            pass


if __name__ == "__main__":
    main()
