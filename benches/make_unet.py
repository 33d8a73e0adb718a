#!/usr/bin/env python3
"""Writes an UNTRAINED U-Net-shaped refinement network (random weights, fixed seed) with the
published stage-2 contract, for timing benchmarks only: two NHWC inputs, image [1,1024,1024,3]
and heatmap [1,1024,1024,1], joined into [R,G,B,heatmap] as the training code did; encoder levels
of 8, 16, 32, 64, 128, 128, 256, 256 filters, each two 3x3 convolutions with ReLU (batch norm
folded in) and a 2x2 max-pool, a 512-filter bottleneck, the decoder mirrored (2x upsampling,
skip concatenation, two convolutions), a 1x1 convolution to 2 channels and a softmax:
output [1,1024,1024,2]. The paper gives ~11.6 M parameters for the trained network; this one
prints its own count. Its outputs mean nothing.

usage: python3 benches/make_unet.py OUT.onnx   (needs: pip install onnx numpy)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2022)
nodes, inits = [], []
count = [0]
params = [0]
N = 1024
ENCODER = [8, 16, 32, 64, 128, 128, 256, 256]
BOTTOM = 512


def name(p):
    count[0] += 1
    return f"{p}{count[0]}"


def conv(x, cin, cout, k=3, act=True):
    w = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
    b = (rng.standard_normal(cout) * 0.01).astype(np.float32)
    params[0] += w.size + b.size
    wn, bn, y = name("w"), name("b"), name("conv")
    inits.extend([numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)])
    pad = k // 2
    nodes.append(helper.make_node("Conv", [x, wn, bn], [y], kernel_shape=[k, k],
                                  pads=[pad, pad, pad, pad]))
    if not act:
        return y
    r = name("relu")
    nodes.append(helper.make_node("Relu", [y], [r]))
    return r


def block(x, cin, cout):
    return conv(conv(x, cin, cout), cout, cout)


def op(kind, inputs, **kw):
    y = name(kind.lower())
    nodes.append(helper.make_node(kind, inputs, [y], **kw))
    return y


image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, N, N, 3])
heat = helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, [1, N, N, 1])
out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, N, N, 2])
x = op("Concat", ["image", "heatmap"], axis=3)
x = op("Transpose", [x], perm=[0, 3, 1, 2])
skips, cin = [], 4
for f in ENCODER:
    x = block(x, cin, f)
    skips.append((x, f))
    x = op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    cin = f
x = block(x, cin, BOTTOM)
cin = BOTTOM
scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales")
inits.append(scales)
for s, f in reversed(skips):
    x = op("Resize", [x, "", "up_scales"], mode="nearest")
    x = op("Concat", [x, s], axis=1)
    x = block(x, cin + f, f)
    cin = f
x = conv(x, cin, 2, k=1, act=False)
x = op("Softmax", [x], axis=1)
nodes.append(helper.make_node("Transpose", [x], ["probabilities"], perm=[0, 2, 3, 1]))
graph = helper.make_graph(nodes, "unet_bench", [image, heat], [out], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
print(f"{sys.argv[1]}: {params[0]:,} parameters", file=sys.stderr)
