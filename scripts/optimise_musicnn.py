"""Rewrite the converted musicnn ONNX graph so its front end pools before it normalises (offline, once).

musicnn's five front-end branches are Conv → ReLU → BatchNorm → MaxPool over the whole frequency axis: the
batch norm (a per-channel affine a·r + b, after the ReLU, so onnxruntime cannot fold it into the convolution)
runs on the full (batch, channels, 187, F) maps — about a fifth of the network's time — only for the max-pool to
keep one value per frame. The max of an affine is the affine of the max (a > 0) or of the min (a < 0), so each
branch becomes

    Conv with the weights and bias of the a < 0 channels negated → MaxPool → Mul(sign a) → ReLU → BatchNorm

on (batch, channels, 187, 1). Negating a convolution's weights and bias negates its output exactly, and
max(−x) = −min(x), so the outputs are the same numbers, not an approximation; `--check` compares both models on
random patches and on the fixture (TensorFlow's outputs).

Runs in a throwaway venv beside the conversion (`pip install onnx==1.16.2 onnxruntime numpy`):

    /tmp/tfvenv/bin/python scripts/optimise_musicnn.py service/analysis/models/musicnn_msd.onnx \
        --out service/analysis/models/musicnn_msd.onnx --check tests/data/musicnn_fixture.npz
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

# onnxruntime's blocked (NCHWc) kernels keep a max-pool in their layout only when the channels fill whole blocks
# (8 with AVX2, 16 with AVX-512); 204 and 51 do not, so each pool paid a reorder of the full map. The convolutions
# get zero channels up to a multiple of 16 (computed anyway: the blocked convolution pads them) and a Slice after
# the pool drops them.
CHANNEL_BLOCK = 16


def _consumers(graph, name: str) -> list:
    return [n for n in graph.node if name in n.input]


def pool_before_norm(model) -> int:
    """Rewrites every Conv → Relu → BatchNormalization → MaxPool chain in place; returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    rewritten = 0
    for conv in [n for n in graph.node if n.op_type == "Conv"]:
        relu = _consumers(graph, conv.output[0])
        if len(relu) != 1 or relu[0].op_type != "Relu":
            continue
        relu = relu[0]
        norm = _consumers(graph, relu.output[0])
        if len(norm) != 1 or norm[0].op_type != "BatchNormalization":
            continue
        norm = norm[0]
        pool = _consumers(graph, norm.output[0])
        if len(pool) != 1 or pool[0].op_type != "MaxPool":
            continue
        pool = pool[0]
        gamma, _beta, _mean, var = (numpy_helper.to_array(inits[i]) for i in norm.input[1:])
        eps = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
        sign = np.where(gamma / np.sqrt(var + eps) < 0, -1.0, 1.0).astype(np.float32)
        channels = sign.size
        padded = -(-channels // CHANNEL_BLOCK) * CHANNEL_BLOCK
        for idx in (1, 2):  # weights (C, …) and bias (C,): negated where the norm's scale is negative, zero-padded
            old = numpy_helper.to_array(inits[conv.input[idx]])
            flipped = (old * sign.reshape((-1,) + (1,) * (old.ndim - 1))).astype(old.dtype)
            flipped = np.concatenate([flipped, np.zeros((padded - channels, *old.shape[1:]), old.dtype)])
            inits[conv.input[idx]].CopyFrom(numpy_helper.from_array(flipped, conv.input[idx]))
        sign_name = f"{norm.name}/sign"
        graph.initializer.append(numpy_helper.from_array(sign.reshape(1, -1, 1, 1), sign_name))
        out = pool.output[0]
        # Conv → MaxPool → Slice → Mul(sign) → Relu → BatchNormalization, the last writing the old pool output
        pool.input[0] = conv.output[0]
        pool.output[0] = f"{pool.name}/pooled"
        for name, value in (
            (f"{norm.name}/starts", [0]),
            (f"{norm.name}/ends", [channels]),
            (f"{norm.name}/axes", [1]),
        ):
            graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.int64), name))
        kept = helper.make_node(
            "Slice",
            [pool.output[0], f"{norm.name}/starts", f"{norm.name}/ends", f"{norm.name}/axes"],
            [f"{norm.name}/kept"],
            name=f"{norm.name}/slice_padding",
        )
        signed = helper.make_node(
            "Mul", [kept.output[0], sign_name], [f"{norm.name}/signed"], name=f"{norm.name}/mul_sign"
        )
        relu.input[0] = signed.output[0]
        norm.output[0] = out
        graph.node.remove(relu)
        graph.node.remove(norm)
        position = list(graph.node).index(pool)
        for offset, node in enumerate((kept, signed, relu, norm), start=1):
            graph.node.insert(position + offset, node)
        rewritten += 1
    return rewritten


def _run(path_or_bytes, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path_or_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def main() -> None:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=Path, help="the fixture .npz (patches + TensorFlow's outputs)")
    args = parser.parse_args()
    original = args.model.read_bytes()
    model = onnx.load_from_string(original)
    n = pool_before_norm(model)
    if n == 0:
        raise SystemExit(f"{args.model}: no Conv → Relu → BatchNormalization → MaxPool chain (already rewritten?)")
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    x = np.random.default_rng(0).uniform(0, 4, (8, 187, 96)).astype(np.float32)
    diffs = [float(np.abs(b - a).max()) for b, a in zip(_run(original, x), _run(data, x), strict=True)]
    print(f"rewrote {n} branches; random patches, vs the model before: max abs difference {max(diffs):.2e}")
    if args.check:
        fixture = np.load(args.check)
        got = _run(data, fixture["melspec"].astype(np.float32))
        print(
            f"fixture: penultimate {np.abs(got[0] - fixture['penultimate']).max():.2e}, "
            f"tags {np.abs(got[1] - fixture['tags']).max():.2e} (vs TensorFlow)"
        )
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
