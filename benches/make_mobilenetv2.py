#!/usr/bin/env python3
"""Writes an UNTRAINED MobileNetV2-shaped patch classifier (random weights, fixed seed) with the
published stage-1 contract (NHWC [N,256,256,3] float32, RGB/255 -> [N,2] softmax): the same
layers and cost as the published model (MobileNetV2 backbone, global average pooling,
Dense(100, ReLU), Dense(2, softmax); batch norm folded into the convolutions), for throughput
benchmarks only. Its outputs mean nothing.

usage: python3 benches/make_mobilenetv2.py OUT.onnx   (needs: pip install onnx numpy)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2022)
nodes, inits = [], []
count = [0]


def name(p):
    count[0] += 1
    return f"{p}{count[0]}"


def conv(x, cin, cout, k, stride, groups=1, act=True):
    w = (rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / (cin // groups * k * k))).astype(np.float32)
    b = (rng.standard_normal(cout) * 0.01).astype(np.float32)
    wn, bn, y = name("w"), name("b"), name("conv")
    inits.extend([numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)])
    nodes.append(helper.make_node("Conv", [x, wn, bn], [y], kernel_shape=[k, k], strides=[stride, stride],
                                  pads=[k // 2] * 4, group=groups))
    if not act:
        return y
    z = name("relu6")
    lo, hi = name("lo"), name("hi")
    inits.extend([numpy_helper.from_array(np.array(0, np.float32), lo),
                  numpy_helper.from_array(np.array(6, np.float32), hi)])
    nodes.append(helper.make_node("Clip", [y, lo, hi], [z]))
    return z


def main():
    out = sys.argv[1]
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 256, 256, 3])
    y = helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["N", 2])
    nodes.append(helper.make_node("Transpose", ["input_1"], ["nchw"], perm=[0, 3, 1, 2]))
    h = conv("nchw", 3, 32, 3, 2)
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hid = cin * t
            z = conv(h, cin, hid, 1, 1) if t != 1 else h
            z = conv(z, hid, hid, 3, stride, groups=hid)
            z = conv(z, hid, c, 1, 1, act=False)
            if stride == 1 and cin == c:
                r = name("add")
                nodes.append(helper.make_node("Add", [h, z], [r]))
                z = r
            h, cin = z, c
    h = conv(h, cin, 1280, 1, 1)
    nodes.append(helper.make_node("GlobalAveragePool", [h], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["feat"]))
    for (a, b, act, src, dst) in [(1280, 100, True, "feat", "fc1"), (100, 2, False, "fc1r", "logits")]:
        w = (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
        bias = np.zeros(b, np.float32)
        wn, bn = name("fw"), name("fb")
        inits.extend([numpy_helper.from_array(w, wn), numpy_helper.from_array(bias, bn)])
        nodes.append(helper.make_node("Gemm", [src, wn, bn], [dst]))
        if act:
            nodes.append(helper.make_node("Relu", [dst], ["fc1r"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["dense_1"], axis=-1))
    g = helper.make_graph(nodes, "mobilenetv2_untrained_bench", [x], [y], inits)
    m = helper.make_model(g, producer_name="h2g benches/make_mobilenetv2.py (untrained)",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out)
    n = sum(np.prod(t.dims) for t in m.graph.initializer)
    print(f"wrote {out}: {n / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
