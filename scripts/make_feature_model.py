#!/usr/bin/env python3
"""Writes a VGG16-shaped feature extractor with random weights, the stand-in for the paper's
ImageNet VGG16 in the clustering stage (`h2g cluster fit`), into models/test/.

  vgg16_features.onnx   input  [N, 256, 256, 3] float32 NHWC, BGR with ImageNet's channel means
                               subtracted on the 0-255 scale (Keras' VGG16 `preprocess_input`,
                               'caffe' mode; the manifest models/test-feature-vgg16.json says so)
                        body   VGG16's thirteen 3x3 convolutions (padding 1, ReLU) in five blocks,
                               each block ending in a 2x2 max pooling, at 1/8 of VGG16's widths
                               (8, 16, 32, 64, 64 channels: the topology of VGG16, a sixty-fourth
                               of its cost, so the tests run on two cores)
                        output [N, 64]: the global average of the last block (Keras'
                               `include_top=False, pooling="avg"`)

Weights: He-normal from numpy's generator seeded 16, biases 0: UNTRAINED, the features mean
nothing medically, but they are a deterministic, nonlinear function of the patch's colours and
texture, as the pipeline needs. Rerunning gives a byte-identical file.
usage: python3 scripts/make_feature_model.py [OUT_DIR] [--width W]   (needs onnx==1.19.1 numpy)
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def build(width, seed=16):
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Transpose", ["input"], ["x0"], perm=[0, 3, 1, 2])]
    inits = []
    cur, ch, k = "x0", 3, 0
    for v in VGG16:
        if v == "M":
            nodes.append(helper.make_node("MaxPool", [cur], [f"p{k}"], kernel_shape=[2, 2], strides=[2, 2]))
            cur = f"p{k}"
            k += 1
            continue
        out = max(1, int(round(v * width)))
        w = rng.normal(0.0, np.sqrt(2.0 / (ch * 9)), (out, ch, 3, 3)).astype(np.float32)
        b = np.zeros(out, np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes.append(helper.make_node("Conv", [cur, f"w{k}", f"b{k}"], [f"c{k}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{k}"], [f"r{k}"]))
        cur, ch = f"r{k}", out
        k += 1
    nodes.append(helper.make_node("GlobalAveragePool", [cur], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["features"], axis=1))
    graph = helper.make_graph(
        nodes,
        "vgg16_features",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 256, 256, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", ch])],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="h2g make_feature_model.py (untrained)")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "models", "test"))
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--name", default="vgg16_features.onnx")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, a.name)
    onnx.save(build(a.width), path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
