"""Convert a pretrained musicnn model (PyPI ``musicnn==0.1.0``, ISC licence) to ONNX, once.

The product runs the converted file with ``onnxruntime`` (:mod:`batch.core.style`), so
TensorFlow is needed only here, in a throwaway environment:

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 tf-keras tf2onnx==1.17.0 onnxruntime==1.31.1
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0 librosa==0.11.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python infra/models/convert_musicnn.py MSD_musicnn \
        batch/core/data/musicnn_msd.onnx

The graph takes log-mel patches ``(n, 187, 96)`` (3 s at 16 kHz; see
:func:`batch.core.style.log_mel`) and gives ``penultimate`` (the 200-unit dense layer after
batch normalisation, the embedding) and ``tags`` (the 50 tag probabilities). Training-only
branches (dropout, batch statistics) are fixed to inference. The script checks that
onnxruntime reproduces TensorFlow's outputs on random input before it writes the file.
"""

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

N_FRAMES, N_MELS = 187, 96


def main(model: str, dest: str) -> int:
    import musicnn
    from musicnn import configuration, models

    tf.compat.v1.disable_eager_execution()
    labels = configuration.MSD_LABELS if model.startswith("MSD") else configuration.MTT_LABELS
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS], name="log_mel")
        with tf.name_scope("model"):
            logits, *_, penultimate = models.define_model(x, tf.constant(False), model, len(labels))
        tf.identity(penultimate, name="penultimate")
        tf.sigmoid(logits, name="tags")
        sess = tf.compat.v1.Session(graph=graph)
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["penultimate", "tags"])
        probe = np.random.default_rng(0).uniform(0, 3, (4, N_FRAMES, N_MELS)).astype(np.float32)
        expected = sess.run(["penultimate:0", "tags:0"], {x: probe})

    import onnxruntime
    import tf2onnx

    proto, _ = tf2onnx.convert.from_graph_def(
        frozen, input_names=["log_mel:0"], output_names=["penultimate:0", "tags:0"], opset=17)
    proto.doc_string = f"musicnn 0.1.0 {model} (Pons and Serra, 2019; ISC licence); tags: {','.join(labels)}"
    data = proto.SerializeToString()
    got = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"log_mel:0": probe})
    for name, a, b in zip(("penultimate", "tags"), expected, got):
        err = float(np.max(np.abs(a - b)))
        print(f"{name}: shape {b.shape}, max difference from TensorFlow {err:.2e}")
        if err > 1e-3:
            raise SystemExit(f"{name} differs from TensorFlow by {err}")
    with open(dest, "wb") as f:
        f.write(data)
    print(f"wrote {dest} ({len(data) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
