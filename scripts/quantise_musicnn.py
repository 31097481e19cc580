"""Quantise the two timbral convolutions of the musicnn ONNX model to int8 (offline, once): `musicnn_v2`.

musicnn's two timbral branches (7×38 and 7×67 kernels over the one-channel 187×96 log-mel patch, 208 channels
each, max-pooled over frequency) are ~70 % of the network's time at fp32, near one core's fp32 peak. As
QLinearConv (uint8 input, int8 weights, uint8 output, max-pooled in uint8) they run ~2.3x faster with
onnxruntime; the rest of the network stays fp32.

    z (the input batch norm, fp32) → QuantizeLinear → QLinearConv → MaxPool → DequantizeLinear → Slice
      → Mul(sign · r) → Relu → BatchNormalization     (the chain `optimise_musicnn.py` left, fp32 after the pool)

- Input: z = the normalised log-mel, quantised over the whole range a log-mel can take (x in [0, 7]: a
  full-scale square wave reaches 6.9), not a calibrated one, so no music saturates it.
- Output: every channel is scaled by its own range r (the largest |max-pooled output| on the calibration
  patches) so all channels use the uint8 range; the Mul after the pool multiplies r back (exact algebra).
- Weights: per channel, 7 bits (|q| ≤ 63). With 8 bits, CPUs without AVX-512 VNNI (onnxruntime's u8s8 kernels
  use VPMADDUBSW there, which saturates a pair of products at 32,767) could compute other numbers than CPUs with
  it; with 7 bits a pair is at most 2·255·63 = 32,130, so every x86 path gives the same integers (the fp32 rest
  of the network differs between CPUs only by float rounding, as it always did).

Calibration (the per-channel ranges) uses the tuning albums only (`scripts/quality_albums.sh` builds them; the
held-out albums are left out), and is written to a JSON file beside the model, so the model is rebuilt from the
committed ranges byte for byte without the albums:

    python3 -m venv /tmp/qvenv && /tmp/qvenv/bin/pip install -e . onnx==1.23.2
    scripts/quality_albums.sh /tmp/albums
    /tmp/qvenv/bin/python scripts/quantise_musicnn.py --calibrate /tmp/albums \
        --held-out colobot,tecnoballz,fretsonfire-muldjord,fretsonfire-sectoid,fb-music-high
    /tmp/qvenv/bin/python scripts/quantise_musicnn.py          # from the committed ranges

The source is the fp32 model (`musicnn_msd.onnx`, kept: the tests compare it with TensorFlow's outputs, and the
int8 model with it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "service" / "analysis" / "models"
SOURCE = MODELS / "musicnn_msd.onnx"
OUT = MODELS / "musicnn_msd_int8.onnx"
RANGES = MODELS / "musicnn_msd_int8.ranges.json"
BRANCHES = ("Conv__133", "Conv__122")  # the 7×38 and 7×67 timbral convolutions of the converted graph
INPUT_MAX = 7.0  # log10(10000·mel + 1) of a full-scale square wave is 6.9
WEIGHT_BITS = 7
W_SCALE_FLOOR = 1e-6  # of a channel normalised to its range (outputs within ±1)
OUTPUT_LEVELS = 127  # uint8 with zero point 128: [-128, 127] / 127 of each channel's range


def _graph_parts(model):
    g = model.graph
    node = {n.name: n for n in g.node}
    inits = {i.name: i for i in g.initializer}
    return g, node, inits


def _consumer(g, name: str):
    found = [n for n in g.node if name in n.input]
    if len(found) != 1:
        raise SystemExit(f"{name}: expected one consumer, found {len(found)}")
    return found[0]


def _input_norm(inits, node) -> tuple[float, float]:
    """The input batch norm as z = a·x + b (one channel)."""
    from onnx import numpy_helper

    norm = node["model/batch_normalization/FusedBatchNormV3"]
    gamma, beta, mean, var = (float(numpy_helper.to_array(inits[i]).ravel()[0]) for i in norm.input[1:])
    eps = next(a.f for a in norm.attribute if a.name == "epsilon")
    a = gamma / np.sqrt(var + eps)
    return float(a), float(beta - mean * a)


def _session(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


def _run(data: bytes, x: np.ndarray) -> list[np.ndarray]:
    session = _session(data)
    runs = [session.run(None, {"melspec": x[i : i + 1]}) for i in range(len(x))]
    return [np.concatenate([r[j] for r in runs]) for j in range(len(runs[0]))]


def calibration_patches(albums: Path, held_out: set[str]) -> tuple[np.ndarray, list[str]]:
    """The analysis's own patches (decode → window_patches) of every track outside the held-out albums."""
    from service.analysis import decode
    from service.analysis.embedding import window_patches
    from service.catalog.files import discover
    from service.errors import AudioError

    patches, used = [], set()
    for path, error in discover([albums]):
        album = Path(path).relative_to(albums).parts[0]
        if error is not None or album in held_out:
            continue
        try:
            decoded = decode.decode_for_analysis(path)
        except AudioError:  # as the quality report: a silent or unreadable file is skipped
            continue
        patches.append(window_patches(decoded.windows, decode.SAMPLE_RATE))
        used.add(album)
    return np.concatenate(patches).astype(np.float32), sorted(used)


def calibrate(source: bytes, patches: np.ndarray, albums: list[str]) -> dict:
    """Each timbral channel's range: the largest |max-pooled output| over the patches."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(source)
    g, node, _ = _graph_parts(model)
    pooled = [_consumer(g, node[c].output[0]).output[0] for c in BRANCHES]
    for name in pooled:
        g.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    outs = _run(model.SerializeToString(), patches)[-len(pooled) :]
    ranges = {c: np.abs(o).max(axis=(0, 2, 3)).astype(np.float64) for c, o in zip(BRANCHES, outs, strict=True)}
    return {
        "about": "per-channel ranges of musicnn's timbral convolutions (max |max-pooled output|), "
        "scripts/quantise_musicnn.py",
        "calibration": {"albums": albums, "patches": int(len(patches))},
        "ranges": {c: [float(f"{v:.6g}") for v in r] for c, r in ranges.items()},
    }


def quantise(source: bytes, ranges: dict) -> bytes:
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(source)
    g, node, inits = _graph_parts(model)
    a, b = _input_norm(inits, node)
    z_name = node[BRANCHES[0]].input[0]
    z_lo, z_hi = b, a * INPUT_MAX + b  # z of x = 0 and x = INPUT_MAX
    z_scale = np.float32((z_hi - z_lo) / 255.0)
    z_zero = np.uint8(round(-z_lo / float(z_scale)))
    g.initializer.extend(
        [numpy_helper.from_array(np.array(z_scale), "zq/scale"), numpy_helper.from_array(np.array(z_zero), "zq/zero")]
    )
    quantise_z = helper.make_node("QuantizeLinear", [z_name, "zq/scale", "zq/zero"], ["zq"], name="zq")
    qmax = 2 ** (WEIGHT_BITS - 1) - 1
    for conv_name in BRANCHES:
        conv = node[conv_name]
        pool = _consumer(g, conv.output[0])
        pooled = pool.output[0]
        mul = _consumer(g, _consumer(g, pooled).output[0])  # Slice → Mul(sign)
        weights = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        bias = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64)
        channels = weights.shape[0]
        r = np.asarray(ranges[conv_name], np.float64)
        if r.shape != (channels,):
            raise SystemExit(f"{conv_name}: {r.size} ranges for {channels} channels")
        r = np.where(r > 0, r, 1.0)  # the zero channels that pad to onnxruntime's block size
        w = weights / r[:, None, None, None]
        w_scale = np.abs(w).reshape(channels, -1).max(axis=1) / qmax
        # a channel whose weights decayed to ~1e-31 in training outputs its bias: a floor keeps that bias within
        # int32 (weights this small round to zero at any scale)
        w_scale = np.maximum(w_scale, W_SCALE_FLOOR).astype(np.float32)
        w_q = np.clip(np.round(w / w_scale[:, None, None, None]), -qmax, qmax).astype(np.int8)
        b_q = np.round(bias / r / (float(z_scale) * w_scale.astype(np.float64)))
        if np.abs(b_q).max() >= 2**31:
            raise SystemExit(f"{conv_name}: a bias does not fit in int32")
        b_q = b_q.astype(np.int32)
        p = f"{conv_name}/int8"
        g.initializer.extend(
            [
                numpy_helper.from_array(w_q, f"{p}/w"),
                numpy_helper.from_array(w_scale, f"{p}/w_scale"),
                numpy_helper.from_array(np.zeros(channels, np.int8), f"{p}/w_zero"),
                numpy_helper.from_array(np.array(np.float32(1.0 / OUTPUT_LEVELS)), f"{p}/y_scale"),
                numpy_helper.from_array(np.array(np.uint8(128)), f"{p}/y_zero"),
                numpy_helper.from_array(b_q, f"{p}/b"),
            ]
        )
        attrs = {x.name: helper.get_attribute_value(x) for x in conv.attribute}
        qconv = helper.make_node(
            "QLinearConv",
            [
                "zq",
                "zq/scale",
                "zq/zero",
                f"{p}/w",
                f"{p}/w_scale",
                f"{p}/w_zero",
                f"{p}/y_scale",
                f"{p}/y_zero",
                f"{p}/b",
            ],
            [f"{p}/y"],
            name=p,
            kernel_shape=attrs["kernel_shape"],
            pads=attrs["pads"],
        )
        pool.input[0] = qconv.output[0]
        pool.output[0] = f"{p}/pooled"
        dequantise = helper.make_node(
            "DequantizeLinear", [pool.output[0], f"{p}/y_scale", f"{p}/y_zero"], [pooled], name=f"{p}/dequantise"
        )
        sign = numpy_helper.to_array(inits[mul.input[1]])
        scaled = (sign * r[: sign.shape[1]].reshape(sign.shape)).astype(np.float32)  # sign · range: exact algebra
        inits[mul.input[1]].CopyFrom(numpy_helper.from_array(scaled, mul.input[1]))
        position = list(g.node).index(conv)
        g.node.remove(conv)
        g.node.insert(position, qconv)
        g.node.insert(list(g.node).index(pool) + 1, dequantise)
        for name in conv.input[1:]:
            g.initializer.remove(inits[name])
    producer = next(i for i, n in enumerate(g.node) if z_name in n.output)
    g.node.insert(producer + 1, quantise_z)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", type=Path, metavar="ALBUMS", help="fit the ranges on these albums first")
    parser.add_argument("--held-out", default="", help="albums (folders) the calibration leaves out, comma separated")
    parser.add_argument("--check", type=Path, default=Path("tests/data/musicnn_fixture.npz"))
    args = parser.parse_args()
    source = SOURCE.read_bytes()
    if args.calibrate:
        patches, albums = calibration_patches(args.calibrate, {a for a in args.held_out.split(",") if a})
        RANGES.write_text(json.dumps(calibrate(source, patches, albums), indent=1) + "\n", encoding="utf-8")
        print(f"{RANGES}: ranges from {len(patches)} patches of {', '.join(albums)}")
    data = quantise(source, json.loads(RANGES.read_text(encoding="utf-8"))["ranges"])
    if args.check.exists():
        x = np.load(args.check)["melspec"].astype(np.float32)
        ref, got = _run(source, x)[0], _run(data, x)[0]
        cos = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
        print(f"fixture patches: penultimate cosine with the fp32 model {cos.min():.5f} (lowest)")
    OUT.write_bytes(data)
    print(f"{OUT}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
