#!/usr/bin/env python3
"""Writes the project's own UNTRAINED test models into models/test/, with exactly the input and
output contracts of the published H2G-Net models (docs/models.md), so tests and the demo can run
the whole cascade without the published weights. Their outputs mean nothing medically.

  patch_classifier.onnx   input  [N, 256, 256, 3] float32 NHWC, RGB scaled by 1/255
                          output [N, 2] softmax; channel 1 plays P(tumour): here a fixed function
                          of the patch's mean colour (darker, more saturated pink -> higher)
  refinement_2in.onnx     inputs image [1, 1024, 1024, 3] and heatmap [1, 1024, 1024, 1] (the
                          published ONNX form; told apart by channel count, names kept generic)
                          output [1, 1024, 1024, 2] softmax over a fixed per-pixel mix
  refinement_4ch.onnx     input [1, 1024, 1024, 4] = [R, G, B, heatmap] (the training code's form),
                          same output and the same function as refinement_2in.onnx
  unet_lr.onnx            input [1, 1024, 1024, 3] (the image alone, design II) -> same output

Deterministic (fixed weights, no randomness): rerunning gives byte-identical files.
usage: python3 scripts/make_test_models.py [OUT_DIR]   (needs: pip install onnx==1.19.1 numpy)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def patch_classifier():
    # mean colour per patch -> two logits -> softmax
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 256, 256, 3])
    y = helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["N", 2])
    # logit1 - logit0 = 6 * (0.8 - (R+G+B)/3) + 4 * (R - G): tissue (darker, pinker) scores high
    w = np.array([[0.0, -2.0 + 4.0], [0.0, -2.0 - 4.0], [0.0, -2.0]], np.float32)
    b = np.array([0.0, 4.8], np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["input_1"], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("MatMul", ["mean", "w"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["dense_1"], axis=-1),
    ]
    g = helper.make_graph(nodes, "h2g_test_patch_classifier", [x], [y],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    return helper.make_model(g, producer_name="h2g make_test_models.py (untrained)",
                             opset_imports=[helper.make_opsetid("", OPSET)])


# per-pixel mix of [R, G, B, heatmap] -> two logits
MIX = np.array([[0.0, -1.0], [0.0, -1.0], [0.0, -1.0], [0.0, 8.0]], np.float32)
MIX_B = np.array([0.0, -1.0], np.float32)


def refinement(two_inputs):
    out = helper.make_tensor_value_info("conv2d_output", TensorProto.FLOAT, [1, 1024, 1024, 2])
    inits = [numpy_helper.from_array(MIX, "mix"), numpy_helper.from_array(MIX_B, "mix_b")]
    nodes = []
    if two_inputs:
        ins = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 1024, 1024, 3]),
               helper.make_tensor_value_info("input_2", TensorProto.FLOAT, [1, 1024, 1024, 1])]
        nodes.append(helper.make_node("Concat", ["input_1", "input_2"], ["x"], axis=-1))
        name = "h2g_test_refinement_2in"
    else:
        ins = [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 1024, 1024, 4])]
        nodes.append(helper.make_node("Identity", ["input_1"], ["x"]))
        name = "h2g_test_refinement_4ch"
    nodes += [
        helper.make_node("MatMul", ["x", "mix"], ["l0"]),
        helper.make_node("Add", ["l0", "mix_b"], ["l"]),
        helper.make_node("Softmax", ["l"], ["conv2d_output"], axis=-1),
    ]
    g = helper.make_graph(nodes, name, ins, [out], inits)
    return helper.make_model(g, producer_name="h2g make_test_models.py (untrained)",
                             opset_imports=[helper.make_opsetid("", OPSET)])


def unet_lr():
    # design II: the image alone; the same per-pixel mix without the heatmap term
    out = helper.make_tensor_value_info("conv2d_output", TensorProto.FLOAT, [1, 1024, 1024, 2])
    inp = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 1024, 1024, 3])
    # darker than average (min-max scaled) pixels score as "tumour": tissue, not glass
    mix = np.array([[0.0, -2.0], [0.0, -2.0], [0.0, -2.0]], np.float32)
    bias = np.array([0.0, 3.9], np.float32)
    inits = [numpy_helper.from_array(mix, "mix"), numpy_helper.from_array(bias, "mix_b")]
    nodes = [
        helper.make_node("MatMul", ["input_1", "mix"], ["l0"]),
        helper.make_node("Add", ["l0", "mix_b"], ["l"]),
        helper.make_node("Softmax", ["l"], ["conv2d_output"], axis=-1),
    ]
    g = helper.make_graph(nodes, "h2g_test_unet_lr", [inp], [out], inits)
    return helper.make_model(g, producer_name="h2g make_test_models.py (untrained)",
                             opset_imports=[helper.make_opsetid("", OPSET)])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models", "test")
    os.makedirs(out, exist_ok=True)
    for model, name in ((patch_classifier(), "patch_classifier.onnx"),
                        (refinement(True), "refinement_2in.onnx"),
                        (refinement(False), "refinement_4ch.onnx"),
                        (unet_lr(), "unet_lr.onnx")):
        model.ir_version = 7  # readable by ONNX Runtime >= 1.6
        save(model, os.path.join(out, name))


if __name__ == "__main__":
    main()
