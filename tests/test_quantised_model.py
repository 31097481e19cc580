"""The int8 model (`musicnn_v2`): made by its script from the committed ranges, byte for byte; weights that cannot
saturate onnxruntime's u8s8 kernels; and the same outputs on a CPU without AVX-512 (QEMU's Haswell) as here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from service.analysis import embedding as E
from service.analysis import embedding_spec as S

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "musicnn_fixture.npz"


def quantise_script():
    spec = importlib.util.spec_from_file_location("quantise_musicnn", ROOT / "scripts" / "quantise_musicnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_makes_the_shipped_model_from_the_committed_ranges():
    q = quantise_script()
    ranges = json.loads(q.RANGES.read_text())
    assert ranges["calibration"]["patches"] > 500
    held_out = {"colobot", "tecnoballz", "fretsonfire-muldjord", "fretsonfire-sectoid", "fb-music-high"}
    assert not held_out & set(ranges["calibration"]["albums"])  # calibrated on the tuning albums only
    data = q.quantise(q.SOURCE.read_bytes(), ranges["ranges"])
    assert hashlib.sha256(data).hexdigest() == S.MODEL_SHA256 == hashlib.sha256(q.OUT.read_bytes()).hexdigest()


def test_int8_weights_cannot_saturate_a_pair_of_products():
    """onnxruntime's u8s8 kernels on CPUs without AVX-512 VNNI sum pairs of uint8·int8 products in int16 with
    saturation: |w| ≤ 63 keeps every pair within 2·255·63 = 32,130."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(E.model_path()))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    assert len(convs) == 2 and not [
        n for n in model.graph.node if n.op_type == "Conv" and n.name in quantise_script().BRANCHES
    ]
    for conv in convs:
        w = inits[conv.input[3]]
        assert w.dtype == np.int8 and np.abs(w.astype(int)).max() <= 63
        assert inits[conv.input[2]].dtype == np.uint8  # uint8 activations: the u8s8 kernels


@pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="no qemu-x86_64: `apt-get install qemu-user` (Debian)")
def test_same_outputs_on_a_cpu_without_avx512():
    """QEMU's Haswell model has AVX2 and no AVX-512 nor VNNI, so onnxruntime takes its other kernels (VPMADDUBSW for
    the int8 convolutions): the outputs are the same bits. (With 8-bit weights they were not: 6,364 of 622,336
    pooled values differed by up to 36 levels, the penultimate layer by up to 0.65.)"""
    x = np.load(FIXTURE)["melspec"].astype(np.float32)[:2]
    code = (
        "import sys, numpy as np\n"
        "from service.analysis import embedding as E\n"
        "x = np.frombuffer(sys.stdin.buffer.read(), np.float32).reshape(-1, 187, 96)\n"
        "pen, tags = E.embed_patches(x)\n"
        "sys.stdout.buffer.write(pen.tobytes() + tags.tobytes())\n"
    )
    emulated = subprocess.run(
        ["qemu-x86_64", "-cpu", "Haswell", sys.executable, "-c", code],
        input=x.tobytes(),
        capture_output=True,
        timeout=600,
        cwd=ROOT,
    )
    assert emulated.returncode == 0, emulated.stderr.decode()[-2000:]
    here = subprocess.run([sys.executable, "-c", code], input=x.tobytes(), capture_output=True, timeout=120, cwd=ROOT)
    assert here.returncode == 0, here.stderr.decode()[-2000:]
    assert len(here.stdout) == 2 * (S.VECTOR_SIZE + len(S.TAGS)) * 4
    assert emulated.stdout == here.stdout
