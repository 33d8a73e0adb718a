#!/usr/bin/env python3
"""Writes the contract-shaped test models into models/test/contract/ and their manifests into
models/test-contract-*.json: tiny UNTRAINED networks with the input and output CONTRACTS of
models people bring to h2g (several inputs or outputs, channels first or last, dynamic sides,
[-1, 1] or mean/std scaling, BGR), not their architectures. Random weights from a fixed seed;
every network starts with a 3 x 3 convolution, so its output depends on where colour sits and a
layout, channel-order or scaling error shows. Each model's weights are also written as
NAME.weights.json, from which tests/model_contracts.rs recomputes the outputs without ONNX
Runtime (scripts/contract_parity.py checks the whole commands against onnxruntime instead).

  refinement (1024 x 1024; x = the inputs concatenated in the model's input order, channels
  first: the image's colour channels in the model's channel order, then the heatmap)
    unet-2in      inputs heatmap [1, 1, 1024, 1024] FIRST, image [1, 3, 1024, 1024]; minmax
                  out [1, 1, 1024, 1024] = sigmoid(conv3(concat(image, heatmap)))
    unet-4ch      input [1, 1024, 1024, 4] = B, G, R, heatmap (bgr); div255
                  out [1, 1024, 1024, 2] = softmax(conv3(x))
    agunet        input [1, 4, 1024, 1024]; symmetric; deep supervision, full resolution first:
                  full [1, 2, 1024, 1024] = softmax(conv3(x)), half [1, 2, 512, 512] and
                  quarter [1, 2, 256, 256] = softmax(strided conv3(x)) (strides 2 and 4)
    doubleunet    input [1, 1024, 1024, 4]; meanstd (ImageNet's); two outputs, the second used:
                  first = softmax(conv3_a(x)), refined = softmax(conv3_b(concat(x, first)))
                  (both [1, 1024, 1024, 2])
  patch classifiers (20x; out [N, 2] = softmax(W2 . mean over pixels of tanh(conv3(x)) + b2))
    inceptionv3   input [N, H, W, 3] with symbolic H, W, run at 299; symmetric
    mobilenetv2   input [N, 224, 224, 3]; symmetric
    patch-bgr     input [N, 3, 128, 128] (bgr); div255
    patch-meanstd input [N, 96, 96, 3]; meanstd (ImageNet's)

  multiclass (classes Background, Tumor, Benign, In situ)
    patch-4class  input [N, 128, 128, 3]; div255; out [N, 4] = softmax(W2 . mean tanh(conv3(x)))
    refine-4class input [1, 1024, 1024, 6] = R, G, B, heatmap bands 1-3; div255;
                  out [1, 4, 1024, 1024] = softmax(conv3(x)) (channels first)

  tissue (256 x 256)
    tissue-2out   input [1, 256, 256, 3] (bgr); symmetric; outputs aux [1, 2, 64, 64] (a stride-4
                  conv3) FIRST and mask [1, 2, 256, 256] = softmax(conv3(x)), chosen by name

conv3: a 3 x 3 convolution, zero padding 1, weights [out, in, 3, 3] and a bias per output.
Deterministic: rerunning gives byte-identical files.
usage: python3 scripts/make_contract_models.py   (needs: pip install onnx==1.19.1 numpy)
"""
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "models", "test", "contract")
OPSET = 13
PRODUCER = "h2g make_contract_models.py (untrained)"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
F = TensorProto.FLOAT


class Net:
    """Collects nodes, initializers and the weights written beside the model."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.weights = [], [], {}

    def conv(self, name, x, cin, cout, stride=1, scale=0.6, centre=None):
        w = (self.rng.standard_normal((cout, cin, 3, 3)) * scale).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.3).astype(np.float32)
        if centre is not None:
            # logits of two classes equal on a flat image of colour `centre` (per input
            # channel): the texture decides, so the map crosses 0.5
            at = [float((w[k] * np.asarray(centre)[:, None, None]).sum()) for k in range(cout)]
            for k in range(1, cout):
                b[k] = np.float32(b[0] + at[0] - at[k])
        self.inits += [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]
        self.nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name],
                                           kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                           strides=[stride, stride]))
        self.weights[name] = {"shape": list(w.shape), "w": w.ravel().tolist(), "b": b.tolist(),
                              "stride": stride}
        return name

    def node(self, op, ins, out, **kw):
        self.nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    def dense(self, name, x, cin, cout, scale=1.0, centre=None):
        w = (self.rng.standard_normal((cin, cout)) * scale).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.3).astype(np.float32)
        if centre is not None:
            # all logits equal at the features `centre`: the patch's texture decides the class
            at = np.asarray(centre, np.float64) @ w.astype(np.float64)
            for k in range(1, cout):
                b[k] = np.float32(b[0] + at[0] - at[k])
        self.inits += [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]
        mm = self.node("MatMul", [x, name + "_w"], name + "_mm")
        self.weights[name] = {"shape": list(w.shape), "w": w.ravel().tolist(), "b": b.tolist()}
        return self.node("Add", [mm, name + "_b"], name)

    def save(self, name, ins, outs):
        g = helper.make_graph(self.nodes, name, ins, outs, self.inits)
        m = helper.make_model(g, producer_name=PRODUCER,
                              opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 7
        onnx.checker.check_model(m)
        path = os.path.join(OUT, name + ".onnx")
        onnx.save(m, path)
        with open(os.path.join(OUT, name + ".weights.json"), "w") as f:
            json.dump(self.weights, f)
            f.write("\n")
        return hashlib.sha256(open(path, "rb").read()).hexdigest()


def vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def nhwc_in(net, x):
    return net.node("Transpose", [x], x + "_nchw", perm=[0, 3, 1, 2])


def nhwc_out(net, x, out):
    return net.node("Transpose", [x], out, perm=[0, 2, 3, 1])


def unet_2in():
    net = Net(1601)
    x = net.node("Concat", ["image", "heatmap"], "x", axis=1)
    c = net.conv("c1", x, 4, 1)
    net.node("Sigmoid", [c], "prob")
    return net.save("unet_2in", [vi("heatmap", [1, 1, 1024, 1024]), vi("image", [1, 3, 1024, 1024])],
                    [vi("prob", [1, 1, 1024, 1024])])


def unet_4ch():
    net = Net(1602)
    x = nhwc_in(net, "input")
    s = net.node("Softmax", [net.conv("c1", x, 4, 2)], "s", axis=1)
    nhwc_out(net, s, "prob")
    return net.save("unet_4ch", [vi("input", [1, 1024, 1024, 4])], [vi("prob", [1, 1024, 1024, 2])])


def agunet():
    net = Net(1603)
    outs = []
    for name, stride, side in [("full", 1, 1024), ("half", 2, 512), ("quarter", 4, 256)]:
        net.node("Softmax", [net.conv("c_" + name, "input", 4, 2, stride)], name, axis=1)
        outs.append(vi(name, [1, 2, side, side]))
    return net.save("agunet", [vi("input", [1, 4, 1024, 1024])], outs)


def doubleunet():
    net = Net(1604)
    x = nhwc_in(net, "input")
    first = net.node("Softmax", [net.conv("c_first", x, 4, 2)], "first_nchw", axis=1)
    cat = net.node("Concat", [x, first], "cat", axis=1)
    refined = net.node("Softmax", [net.conv("c_refined", cat, 6, 2)], "refined_nchw", axis=1)
    nhwc_out(net, first, "first")
    nhwc_out(net, refined, "refined")
    return net.save("doubleunet", [vi("input", [1, 1024, 1024, 4])],
                    [vi("first", [1, 1024, 1024, 2]), vi("refined", [1, 1024, 1024, 2])])


def patch(name, seed, shape, nhwc):
    net = Net(seed)
    x = nhwc_in(net, "input") if nhwc else "input"
    t = net.node("Tanh", [net.conv("c1", x, 3, 4)], "t")
    gap = net.node("GlobalAveragePool", [t], "gap")
    flat = net.node("Flatten", [gap], "flat", axis=1)
    net.node("Softmax", [net.dense("d1", flat, 4, 2)], "prob", axis=1)
    return net.save(name, [vi("input", shape)], [vi("prob", ["N", 2])])


# the demo slide's mean pink, 0-1 scale (R, G, B)
PINK = [205 / 255, 120 / 255, 185 / 255]


def patch_4class():
    net = Net(1610)
    x = nhwc_in(net, "input")
    c1 = net.conv("c1", x, 3, 6)
    t = net.node("Tanh", [c1], "t")
    gap = net.node("GlobalAveragePool", [t], "gap")
    flat = net.node("Flatten", [gap], "flat", axis=1)
    # the features of a flat pink patch (its inside), where the four logits are made equal
    w1 = np.asarray(net.weights["c1"]["w"]).reshape(6, 3, 3, 3)
    f0 = np.tanh((w1 * np.asarray(PINK)[None, :, None, None]).sum((1, 2, 3)) + net.weights["c1"]["b"])
    net.node("Softmax", [net.dense("d1", flat, 6, 4, scale=8.0, centre=f0)], "prob", axis=1)
    return net.save("patch_4class", [vi("input", ["N", 128, 128, 3])], [vi("prob", ["N", 4])])


def refine_4class():
    net = Net(1611)
    x = nhwc_in(net, "input")
    # logits equal at the pink of the slide under heatmap bands of 0.25: texture decides
    net.node("Softmax", [net.conv("c1", x, 6, 4, centre=PINK + [0.25] * 3)], "prob", axis=1)
    return net.save("refine_4class", [vi("input", [1, 1024, 1024, 6])],
                    [vi("prob", [1, 4, 1024, 1024])])


def tissue_2out():
    net = Net(1609)
    x = nhwc_in(net, "input")
    net.node("Softmax", [net.conv("c_aux", x, 3, 2, 4)], "aux", axis=1)
    # the test slide's mean pink (R 205, G 120, B 185) in BGR, x / 127.5 - 1
    pink = [185 / 127.5 - 1, 120 / 127.5 - 1, 205 / 127.5 - 1]
    net.node("Softmax", [net.conv("c_mask", x, 3, 2, centre=pink)], "mask", axis=1)
    return net.save("tissue_2out", [vi("input", [1, 256, 256, 3])],
                    [vi("aux", [1, 2, 64, 64]), vi("mask", [1, 2, 256, 256])])


def manifest(name, file, sha, role, size, inputs, scaling, notes, order="rgb", tensor=None,
             kind="softmax", channel=1, extra=None):
    m = {
        "name": "test-contract-" + name,
        "role": role,
        "trained": False,
        "file": "test/contract/" + file + ".onnx",
        "sha256": sha,
        "urls": [],
        "licence": "MIT (made by scripts/make_contract_models.py)",
        "layout": "auto",
        "size": size,
        "inputs": [{"channels": c, "role": r} for c, r in inputs],
        "channel_order": order,
        "scaling": scaling,
        "magnification": 20.0 if role == "patch-classifier" else None,
        "output": {"kind": kind, "channel": channel,
                   "meaning": "UNTRAINED stand-in for P(tumour)"},
        "threshold": 0.5,
        "notes": "UNTRAINED, random weights. " + notes,
    }
    if tensor is not None:
        m["output"]["tensor"] = tensor
    if scaling == "meanstd":
        m["mean"], m["std"] = IMAGENET_MEAN, IMAGENET_STD
    if extra:
        m.update(extra)
        if "classes" in extra:
            m["output"]["meaning"] = "UNTRAINED stand-in for P(class), one channel per class"
    with open(os.path.join(ROOT, "models", "test-contract-" + name + ".json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = "refinement"
    manifest("unet-2in", "unet_2in", unet_2in(), ref, 1024, [(1, "heatmap"), (3, "image")], "minmax",
             "Two inputs, heatmap first, channels first; one sigmoid output.", kind="sigmoid", channel=0)
    manifest("unet-4ch", "unet_4ch", unet_4ch(), ref, 1024, [(4, "image+heatmap")], "div255",
             "One 4-channel input [B, G, R, heatmap], channels last.", order="bgr")
    manifest("agunet", "agunet", agunet(), ref, 1024, [(4, "image+heatmap")], "symmetric",
             "AGU-Net/DAGU-Net contract: deep-supervision outputs at 1024, 512, 256; the full "
             "resolution (first) is used.", tensor=0)
    manifest("doubleunet", "doubleunet", doubleunet(), ref, 1024, [(4, "image+heatmap")], "meanstd",
             "DoubleU-Net contract: outputs [first U-Net, refined]; the refined (second) is used.",
             tensor=1)
    pc = "patch-classifier"
    manifest("inceptionv3", "inceptionv3", patch("inceptionv3", 1605, ["N", "H", "W", 3], True), pc,
             299, [(3, "image")], "symmetric", "InceptionV3 contract: [N, H, W, 3] with dynamic H, W, "
             "run at 299; [-1, 1] scaling.")
    manifest("mobilenetv2", "mobilenetv2", patch("mobilenetv2", 1606, ["N", 224, 224, 3], True), pc,
             224, [(3, "image")], "symmetric", "MobileNetV2 contract: [N, 224, 224, 3], [-1, 1].")
    manifest("patch-bgr", "patch_bgr", patch("patch_bgr", 1607, ["N", 3, 128, 128], False), pc,
             128, [(3, "image")], "div255", "Channels first, BGR.", order="bgr")
    manifest("tissue-2out", "tissue_2out", tissue_2out(), "tissue", 256, [(3, "image")], "symmetric",
             "Two outputs, the map second and chosen by name; BGR.", order="bgr", tensor="mask")
    manifest("patch-meanstd", "patch_meanstd", patch("patch_meanstd", 1608, ["N", 96, 96, 3], True),
             pc, 96, [(3, "image")], "meanstd", "ImageNet mean/std scaling (0-1 scale).")

    classes = {"classes": [{"name": "Background"}, {"name": "Tumor", "color": [200, 0, 0]},
                           {"name": "Benign", "color": [0, 150, 255]}, {"name": "In situ"}]}
    manifest("patch-4class", "patch_4class", patch_4class(), pc, 128, [(3, "image")], "div255",
             "Multiclass contract: [N, 128, 128, 3] to a softmax over 4 classes (background "
             "first).", extra=classes)
    manifest("refine-4class", "refine_4class", refine_4class(), ref, 1024,
             [(6, "image+heatmap")], "div255",
             "Multiclass contract: one input [R, G, B, and the heatmap's 3 class bands], channels "
             "last; out [1, 4, 1024, 1024] channels first, a softmax over the 4 classes.",
             extra=classes)


if __name__ == "__main__":
    main()
