"""Tools/bench-peers' Python half: ResNet-18 in ONNX, ONNX Runtime static quantization, timings.

usage (from Tools/bench-peers): python bench-peers.py WORK_DIR RUNS CEILING16 CEILING_VNNI LAYOUT...
Expects WORK_DIR/resnet18-{32,224}-LAYOUT.rnb from rn-export --random --weight-layout LAYOUT, and
rn-bench built. The first layout is rn's headline; CEILING16 is the ceiling of the tiled kernels
(layout ohwi), CEILING_VNNI that of the blocked kernels (layout o16hwi4).
"""
import json, os, subprocess, sys, time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

work, runs = sys.argv[1], int(sys.argv[2])
ROUNDS = 5
ceilings = {"ohwi": float(sys.argv[3]), "o16hwi4": float(sys.argv[4])}
layouts = sys.argv[5:]
rng = np.random.default_rng(1)


class Builder:
    """ResNet-18 with batch norm folded: conv (+bias) -> relu, basic blocks, 1x1 projections."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, kind):
        self.n += 1
        return f"{kind}{self.n}"

    def conv(self, x, cin, cout, k, stride, pad, relu=True):
        w = self.name("w")
        b = self.name("b")
        std = np.sqrt(2.0 / (cin * k * k))
        self.inits.append(numpy_helper.from_array((rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32), w))
        self.inits.append(numpy_helper.from_array((rng.standard_normal(cout) * 0.01).astype(np.float32), b))
        y = self.name("conv")
        self.nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride],
                                           pads=[pad, pad, pad, pad]))
        return self.relu(y) if relu else y

    def relu(self, x):
        y = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [y]))
        return y

    def block(self, x, cin, cout, stride):
        h = self.conv(x, cin, cout, 3, stride, 1)
        h = self.conv(h, cout, cout, 3, 1, 1, relu=False)
        shortcut = x if stride == 1 and cin == cout else self.conv(x, cin, cout, 1, stride, 0, relu=False)
        y = self.name("add")
        self.nodes.append(helper.make_node("Add", [h, shortcut], [y]))
        return self.relu(y)

    def resnet18(self, size, classes, stem):
        x = "input"
        if stem == "imagenet":
            x = self.conv(x, 3, 64, 7, 2, 3)
            y = self.name("pool")
            self.nodes.append(helper.make_node("MaxPool", [x], [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
            x = y
        else:
            x = self.conv(x, 3, 64, 3, 1, 1)
        cin = 64
        for stage, cout in enumerate([64, 128, 256, 512]):
            for i in range(2):
                x = self.block(x, cin, cout, 2 if stage > 0 and i == 0 else 1)
                cin = cout
        g = self.name("gap")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], [g]))
        f = self.name("flat")
        self.nodes.append(helper.make_node("Flatten", [g], [f], axis=1))
        w, b = self.name("fcw"), self.name("fcb")
        self.inits.append(numpy_helper.from_array((rng.standard_normal((classes, 512)) * 0.05).astype(np.float32), w))
        self.inits.append(numpy_helper.from_array(np.zeros(classes, np.float32), b))
        self.nodes.append(helper.make_node("Gemm", [f, w, b], ["logits"], transB=1))
        graph = helper.make_graph(self.nodes, "resnet18",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
                                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


class RandomImages(CalibrationDataReader):
    def __init__(self, size, count=16):
        self.items = iter([{"input": rng.random((1, 3, size, size), dtype=np.float32)} for _ in range(count)])

    def get_next(self):
        return next(self.items, None)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def time_ort(s, size):
    x = {"input": rng.random((1, 3, size, size), dtype=np.float32)}
    for _ in range(5):
        s.run(None, x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, x)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def time_rn(rnb):
    out = subprocess.run([".build/release/rn-bench", rnb, "--runs", str(runs), "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


rows = []
profiles = {}
for label, size, classes, stem in (("ResNet-18 w64 32x32x3 (CIFAR stem)", 32, 10, "cifar"),
                                   ("ResNet-18 w64 224x224x3 (ImageNet stem)", 224, 1000, "imagenet")):
    print(f"== {label}", file=sys.stderr)
    fp32 = os.path.join(work, f"resnet18-{size}.onnx")
    onnx.save(Builder().resnet18(size, classes, stem), fp32)
    int8_paths = {}
    for act in (QuantType.QUInt8, QuantType.QInt8):
        q = os.path.join(work, f"resnet18-{size}-{act.name}.onnx")
        quantize_static(fp32, q, RandomImages(size), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=act, weight_type=QuantType.QInt8)
        int8_paths[act.name] = q
    # This machine's speed drifts over seconds, so every contender is timed in each of ROUNDS
    # interleaved rounds and the median of its round medians is reported.
    sessions = {name: session(path) for name, path in int8_paths.items()}
    sessions["fp32"] = session(fp32)
    times = {name: [] for name in list(sessions) + layouts}
    results = {}
    for _ in range(ROUNDS):
        for name, s in sessions.items():
            times[name].append(time_ort(s, size))
        for layout in layouts:
            results[layout] = time_rn(os.path.join(work, f"resnet18-{size}-{layout}.rnb"))
            times[layout].append(results[layout]["median_ms"])
    median = {name: float(np.median(t)) for name, t in times.items()}
    best = min(int8_paths, key=lambda name: median[name])
    for layout in layouts:
        rn = results[layout]
        profiles[(label, layout)] = rn
        rows.append((label, layout, rn["macs"], median[layout], median[best], best, median["fp32"],
                     rn["macs"] / (median[layout] * 1e6)))

print(f"\nOne thread, batch 1, median of {ROUNDS} interleaved rounds of {runs} runs; onnxruntime {ort.__version__}; int8 multiply-accumulate "
      f"ceilings: {ceilings['ohwi']:.1f} GMAC/s (vpmaddwd + vpaddd, tiled kernels, layout ohwi), "
      f"{ceilings['o16hwi4']:.1f} GMAC/s (vpdpbusd zmm, blocked kernels, layout o16hwi4)\n")
print(f"{'network':42} {'rn layout':>9} {'GMAC':>6} {'rn ms':>8} {'ORT int8 ms':>12} {'ORT fp32 ms':>12} "
      f"{'rn/ORT int8':>12} {'rn/ORT fp32':>12} {'rn GMAC/s':>10} {'of ceiling':>11}")
for label, layout, macs, rn_ms, int8_ms, act, fp32_ms, gmacs in rows:
    print(f"{label:42} {layout:>9} {macs / 1e9:6.3f} {rn_ms:8.2f} {int8_ms:9.2f} {act[1:2].lower()}8 {fp32_ms:12.2f} "
          f"{rn_ms / int8_ms:11.2f}x {rn_ms / fp32_ms:11.2f}x {gmacs:10.1f} {100 * gmacs / ceilings[layout]:10.0f}%")
print("(rn/ORT below 1.0x means rn is faster; 'u8'/'s8' is the faster ORT activation type)")

for (label, layout), rn in profiles.items():
    ceiling = ceilings[layout]
    print(f"\nrn's slowest layers, {label}, layout {layout}:")
    print(f"  {'layer':24} {'MACs':>12} {'ms':>8} {'GMAC/s':>8} {'of ceiling':>11} {'share':>6}")
    total = sum(l["ms"] for l in rn["layers"])
    for l in sorted(rn["layers"], key=lambda l: -l["ms"])[:8]:
        g = l["macs"] / (l["ms"] * 1e6) if l["ms"] > 0 else 0
        print(f"  {l['name']:24} {l['macs']:12d} {l['ms']:8.3f} {g:8.1f} {100 * g / ceiling:10.0f}% {100 * l['ms'] / total:5.1f}%")
