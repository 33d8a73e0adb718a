#!/usr/bin/env python3
"""Writes the project's own UNTRAINED test models into models/test/, with exactly the input and
output contracts of the published H2G-Net models (docs/models.md), so tests and the demo can run
the whole cascade without the published weights. Their outputs mean nothing medically, but they
depend on WHERE colour sits in their input, so a transposed, flipped, shifted or channel-swapped
input changes them, and each comes channels-last (the published form) and channels-first
(`*_nchw.onnx`, the same function) so both input layouts run on a real model.

  patch_classifier.onnx   input  [N, 256, 256, 3] float32 NHWC, RGB scaled by 1/255
                          output [N, 2] softmax; channel 1 plays P(tumour) = sigmoid(d) with
                            d = 4.8 - 2 (mR + mG + mB) + 4 (mR - mG)
                                + mean over (row, col, channel) of W[row, col, ch] * x[row, col, ch]
                          (m*: the channel means; darker, pinker -> higher) and the weight map
                            W[r, c, ch] = A[ch] u(c) + B[ch] v(r) + C[ch] u(c) v(r)
                                          + D[ch] sin(2 pi c / 16) + E[ch] sin(2 pi r / 12),
                            u(c) = (c - 127.5) / 127.5, v(r) = (r - 127.5) / 127.5,
                          A...E below (PATCH_A...PATCH_E): ramps asymmetric in rows against
                          columns and between R and B, and waves a one-pixel shift moves
  refinement_2in.onnx     inputs image [1, 1024, 1024, 3] and heatmap [1, 1024, 1024, 1] (the
                          published ONNX form; told apart by channel count, names kept generic)
                          output [1, 1024, 1024, 2]: softmax of logits (0, l1) with
                            l1[y, x] = REFINE_B + sum over ch, i, j in 0..3 of
                                       K[ch, i, j] * in[ch, y + i - 1, x + j - 1]
                          (a 3x3 convolution, zero outside the image; in = [R, G, B, heatmap];
                          K = REFINE_K below, asymmetric under transposes and flips)
  refinement_4ch.onnx     input [1, 1024, 1024, 4] = [R, G, B, heatmap] (the training code's form),
                          same output and the same function as refinement_2in.onnx
  unet_lr.onnx            input [1, 1024, 1024, 3] (the image alone, design II) -> same output,
                          l1 = UNET_B + the 3x3 convolution with UNET_K
  *_nchw.onnx             the same four functions channels-first: inputs [N, 3, 256, 256],
                          [1, 3|1|4, 1024, 1024]; outputs [N, 2] and [1, 2, 1024, 1024]

The tests (tests/model_layout.rs) recompute these functions in plain Rust from the constants
written here; change one and change the other.

Deterministic (fixed weights, no randomness): rerunning gives byte-identical files.
usage: python3 scripts/make_test_models.py [OUT_DIR]   (needs: pip install onnx==1.19.1 numpy)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
PRODUCER = "h2g make_test_models.py (untrained)"

# patch classifier: weights of u(c), v(r) and u(c) v(r) per channel R, G, B
PATCH_A = [8.0, -3.0, 5.0]
PATCH_B = [-7.0, -4.0, 3.0]
PATCH_C = [3.0, 0.0, -4.0]
# and of the waves sin(2 pi c / 16) and sin(2 pi r / 12): fine enough that a one-pixel shift of
# a tissue patch moves P(tumour) by about 1e-3, small enough not to swamp the mean colour
PATCH_D = [24.0, 12.0, 18.0]
PATCH_E = [18.0, 24.0, 12.0]

# refinement: l1 = REFINE_B + sum K[ch] (3x3, rows top to bottom) * input around the pixel; each
# image kernel sums to -1 and the heatmap's to 8 (the per-pixel mix of the earlier models), spread
# asymmetrically
SPREAD = np.array([[0.30, 0.20, 0.00],
                   [-0.10, 0.40, 0.35],
                   [0.05, -0.15, -0.05]], np.float64)
HEAT_SPREAD = np.array([[0.0, 0.1, 0.3],
                        [0.0, 0.4, 0.0],
                        [0.2, 0.0, 0.0]], np.float64)
REFINE_K = np.stack([-1.0 * SPREAD, -1.0 * SPREAD.T, -1.0 * SPREAD[::-1, :], 8.0 * HEAT_SPREAD])
REFINE_B = -1.0
# design II: darker than average (min-max scaled) pixels score as "tumour": tissue, not glass
UNET_K = np.stack([-2.0 * SPREAD, -2.0 * SPREAD.T, -2.0 * SPREAD[:, ::-1]])
UNET_B = 3.9


def save(model, path):
    model.ir_version = 7  # readable by ONNX Runtime >= 1.6
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def model_of(nodes, name, ins, outs, inits):
    g = helper.make_graph(nodes, name, ins, outs, inits)
    return helper.make_model(g, producer_name=PRODUCER,
                             opset_imports=[helper.make_opsetid("", OPSET)])


def ramps(nchw):
    """u(c) and v(r) shaped to broadcast against one input patch, and A, B, C per channel."""
    t = (np.arange(256, dtype=np.float32) - np.float32(127.5)) / np.float32(127.5)
    if nchw:  # [N, 3, rows, cols]
        u, v, ch = t.reshape(1, 1, 1, 256), t.reshape(1, 1, 256, 1), (1, 3, 1, 1)
    else:  # [N, rows, cols, 3]
        u, v, ch = t.reshape(1, 1, 256, 1), t.reshape(1, 256, 1, 1), (1, 1, 1, 3)
    k = np.arange(256, dtype=np.float64)
    su = np.sin(2 * np.pi * k / 16).astype(np.float32).reshape(u.shape)
    sv = np.sin(2 * np.pi * k / 12).astype(np.float32).reshape(v.shape)
    w = [np.array(k, np.float32).reshape(ch) for k in (PATCH_A, PATCH_B, PATCH_C, PATCH_D, PATCH_E)]
    return (u, v, su, sv), w


def patch_classifier(nchw):
    shape = ["N", 3, 256, 256] if nchw else ["N", 256, 256, 3]
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["N", 2])
    # logit1 - logit0 = 6 * (0.8 - (R+G+B)/3) + 4 * (R - G) + spatial term
    w = np.array([[0.0, -2.0 + 4.0], [0.0, -2.0 - 4.0], [0.0, -2.0]], np.float32)
    b = np.array([0.0, 4.8], np.float32)
    (u, v, su, sv), (a, bb, c, dd, ee) = ramps(nchw)
    e1 = np.array([0.0, 1.0], np.float32)
    # means taken one axis at a time (256 terms each): float32 sums over a whole patch at once
    # round by up to ~1e-4, more than the tests' tolerance
    rows, cols = (2, 3) if nchw else (1, 2)
    nodes = [
        helper.make_node("ReduceMean", ["input_1"], ["mean_c"], axes=[cols], keepdims=0),
        helper.make_node("ReduceMean", ["mean_c"], ["mean"], axes=[rows], keepdims=0),
        helper.make_node("MatMul", ["mean", "w"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits1"]),
        # the weight map W = A u + B v + C u v, built in the graph (a few bytes, not 768 kB)
        helper.make_node("Mul", ["u", "wa"], ["au"]),
        helper.make_node("Mul", ["v", "wb"], ["bv"]),
        helper.make_node("Mul", ["u", "v"], ["uv"]),
        helper.make_node("Mul", ["uv", "wc"], ["cuv"]),
        helper.make_node("Add", ["au", "bv"], ["w2"]),
        helper.make_node("Mul", ["su", "wd"], ["dsu"]),
        helper.make_node("Mul", ["sv", "we"], ["esv"]),
        helper.make_node("Add", ["w2", "cuv"], ["w3"]),
        helper.make_node("Add", ["w3", "dsu"], ["w4"]),
        helper.make_node("Add", ["w4", "esv"], ["wmap"]),
        # the spatial term: mean over rows, columns and channels of W * x, added to logit 1
        helper.make_node("Mul", ["input_1", "wmap"], ["weighted"]),
        helper.make_node("ReduceMean", ["weighted"], ["sp_c"], axes=[3], keepdims=0),
        helper.make_node("ReduceMean", ["sp_c"], ["sp_b"], axes=[2], keepdims=0),
        helper.make_node("ReduceMean", ["sp_b"], ["spatial"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["spatial", "e1"], ["spatial2"]),
        helper.make_node("Add", ["logits1", "spatial2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["dense_1"], axis=-1),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(u, "u"), numpy_helper.from_array(v, "v"),
             numpy_helper.from_array(a, "wa"), numpy_helper.from_array(bb, "wb"),
             numpy_helper.from_array(c, "wc"), numpy_helper.from_array(dd, "wd"),
             numpy_helper.from_array(ee, "we"),
             numpy_helper.from_array(su, "su"), numpy_helper.from_array(sv, "sv"),
             numpy_helper.from_array(e1, "e1")]
    name = "h2g_test_patch_classifier" + ("_nchw" if nchw else "")
    return model_of(nodes, name, [x], [y], inits)


def conv_weights(k, bias):
    """Conv weights [2, C, 3, 3] and bias [2] for logits (0, bias + K * x)."""
    c = k.shape[0]
    w = np.zeros((2, c, 3, 3), np.float32)
    w[1] = k.astype(np.float32)
    return [numpy_helper.from_array(w, "kernel"),
            numpy_helper.from_array(np.array([0.0, bias], np.float32), "kernel_b")]


def conv_net(ins, parts, k, bias, nchw, name):
    """`parts`: the input names holding the channels in order (concatenated when more than one)."""
    side = 1024
    out_shape = [1, 2, side, side] if nchw else [1, side, side, 2]
    out = helper.make_tensor_value_info("conv2d_output", TensorProto.FLOAT, out_shape)
    nodes = []
    if len(parts) > 1:
        nodes.append(helper.make_node("Concat", parts, ["x"], axis=1 if nchw else -1))
    else:
        nodes.append(helper.make_node("Identity", parts, ["x"]))
    if nchw:
        nodes += [
            helper.make_node("Conv", ["x", "kernel", "kernel_b"], ["l"], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node("Softmax", ["l"], ["conv2d_output"], axis=1),
        ]
    else:
        nodes += [
            helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2]),
            helper.make_node("Conv", ["xc", "kernel", "kernel_b"], ["lc"], kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1]),
            helper.make_node("Transpose", ["lc"], ["l"], perm=[0, 2, 3, 1]),
            helper.make_node("Softmax", ["l"], ["conv2d_output"], axis=-1),
        ]
    return model_of(nodes, name, ins, [out], conv_weights(k, bias))


def image_input(name, c, nchw):
    shape = [1, c, 1024, 1024] if nchw else [1, 1024, 1024, c]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def refinement(two_inputs, nchw):
    suffix = "_nchw" if nchw else ""
    if two_inputs:
        ins = [image_input("input_1", 3, nchw), image_input("input_2", 1, nchw)]
        return conv_net(ins, ["input_1", "input_2"], REFINE_K, REFINE_B, nchw,
                        "h2g_test_refinement_2in" + suffix)
    ins = [image_input("input_1", 4, nchw)]
    return conv_net(ins, ["input_1"], REFINE_K, REFINE_B, nchw, "h2g_test_refinement_4ch" + suffix)


def unet_lr(nchw):
    ins = [image_input("input_1", 3, nchw)]
    return conv_net(ins, ["input_1"], UNET_K, UNET_B, nchw,
                    "h2g_test_unet_lr" + ("_nchw" if nchw else ""))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models", "test")
    os.makedirs(out, exist_ok=True)
    for nchw in (False, True):
        s = "_nchw" if nchw else ""
        for model, name in ((patch_classifier(nchw), "patch_classifier"),
                            (refinement(True, nchw), "refinement_2in"),
                            (refinement(False, nchw), "refinement_4ch"),
                            (unet_lr(nchw), "unet_lr")):
            save(model, os.path.join(out, name + s + ".onnx"))


if __name__ == "__main__":
    main()
