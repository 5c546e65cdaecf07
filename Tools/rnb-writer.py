#!/usr/bin/env python3
"""An outsider's .rnb writer, written from Sources/RNFormat/FORMAT.md alone (no rn code read).

It builds one small model that uses every op kind of the page (conv2d in both weight layouts,
fully_connected, add, max_pool, global_average_pool, conv2d_add, conv2d_max_pool, mean), with
its own memory plan (in-place where section 7 allows it), the lower bound of section 7, the
blocked-kernel scratch of section 4, multipliers quantized as section 5 says, and metadata
records. It also computes what the model must output for some inputs, by the page's formulas
(section 4 and 5), so the runtime is checked against the page, not against itself.

    Tools/rnb-writer.py OUT_DIR      writes OUT_DIR/model.rnb, inputs.bin, expected.bin

Standard library only. Tests/RNFormatTests/OutsiderWriterTests.swift runs it and loads the result.
"""
import math
import random
import struct
import sys
import zlib
from pathlib import Path

# ---------------------------------------------------------------- section 5: requantization

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def wrap32(x):
    return (x + 2**31) % 2**32 - 2**31


def quantize_multiplier(real):
    """(m, s) for a real multiplier: frexp, round half away from zero, renormalize, flush."""
    if real <= 0:
        return 0, 0
    f, e = math.frexp(real)
    m = int(math.floor(f * 2**31 + 0.5))  # f > 0: half away from zero
    if m == 2**31:
        m, e = 2**30, e + 1
    if e < -31:
        return 0, 0
    return m, e


def mbqm(x, m, s):
    if s > 0:
        x = wrap32(x * 2**s)
    if x == INT32_MIN and m == INT32_MIN:
        y = INT32_MAX
    else:
        p = x * m
        nudge = 2**30 if p >= 0 else 1 - 2**30
        q = p + nudge
        y = abs(q) // 2**31 * (1 if q >= 0 else -1)  # divide truncating toward zero
    if s < 0:
        e = -s
        mask = 2**e - 1
        remainder = y & mask
        threshold = (mask >> 1) + (1 if y < 0 else 0)
        y = (y >> e) + (1 if remainder > threshold else 0)
    return y


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# ---------------------------------------------------------------- the model

rng = random.Random(7)


class Tensor:
    def __init__(self, shape, scale, zp):
        self.shape, self.scale, self.zp = shape, scale, zp
        self.bytes = 1
        for d in shape:
            self.bytes *= d

    @property
    def hwc(self):
        return self.shape[1], self.shape[2], self.shape[3]


def out_size(n, k, s, before, after):
    return (n + before + after - k) // s + 1


class Op:
    """One op record: kind, inputs, window, clamp, layout, slot values, and its constants."""

    def __init__(self, kind, inputs, window=(0,) * 8, act=(-128, 127), layout=0):
        self.kind, self.inputs, self.window, self.act, self.layout = kind, inputs, window, act, layout
        self.weights = None  # (C_out, KH, KW, C_in) nested lists, or (K, N) for fully_connected
        self.bias = self.mult = self.shift = None
        self.extra = []  # slots after 0..4 (or all slots for kinds without weights): (type, value)


tensors = [Tensor([1, 6, 6, 3], 0.02, 3)]
ops = []
names = []


def new_tensor(shape, zp=None):
    return Tensor(shape, rng.uniform(0.03, 0.08), rng.randint(-20, 20) if zp is None else zp)


def conv_weights(op, cout, kh, kw, cin, in_scale, out_scale):
    op.weights = [[[[rng.randint(-127, 127) for _ in range(cin)] for _ in range(kw)] for _ in range(kh)] for _ in range(cout)]
    op.bias = [rng.randint(-3000, 3000) for _ in range(cout)]
    taps = kh * kw * cin
    op.mult, op.shift = [], []
    for _ in range(cout):
        # Spread a typical accumulator (~ sqrt(taps) * 127 * 30) over about +-40 steps.
        m, s = quantize_multiplier(rng.uniform(0.5, 1.5) * 40 / (math.sqrt(taps) * 127 * 30))
        op.mult.append(m)
        op.shift.append(s)


def add_params(s0, s1, s_out, left_shift=20):
    twice = 2 * max(s0, s1)
    m0 = quantize_multiplier(s0 / twice)
    m1 = quantize_multiplier(s1 / twice)
    mo = quantize_multiplier(twice / (2**left_shift * s_out))
    return left_shift, m0, m1, mo


def relu(t):
    return (t.zp, 127)


# op 0, conv2d_max_pool: 3x3/1 p1 conv 3 -> 4 channels (6x6), then 2x2/2 max pool -> 3x3x4.
t = new_tensor([1, 3, 3, 4], zp=-128)
op = Op(7, [0], window=(3, 3, 1, 1, 1, 1, 1, 1), act=relu(t))
conv_weights(op, 4, 3, 3, 3, tensors[0].scale, t.scale)
op.pool = (2, 2, 2, 2, 0, 0, 0, 0)
ops.append(op); tensors.append(t); names.append("stem+stem.pool")

# op 1, conv2d in layout 1: 3x3/1 p1, 4 -> 4 channels, ReLU.
t = new_tensor([1, 3, 3, 4], zp=-128)
op = Op(1, [1], window=(3, 3, 1, 1, 1, 1, 1, 1), act=relu(t), layout=1)
conv_weights(op, 4, 3, 3, 4, tensors[1].scale, t.scale)
ops.append(op); tensors.append(t); names.append("block0.conv1")

# op 2, conv2d_add: 3x3/1 p1 conv of t2 (4 -> 4) plus the residual t1, ReLU; may overwrite t1.
t = new_tensor([1, 3, 3, 4], zp=-128)
op = Op(6, [2, 1], window=(3, 3, 1, 1, 1, 1, 1, 1), act=relu(t))
conv_weights(op, 4, 3, 3, 4, tensors[2].scale, t.scale)
op.conv_scale, op.conv_zp = 0.05, 4
op.add = add_params(op.conv_scale, tensors[1].scale, t.scale)
ops.append(op); tensors.append(t); names.append("block0.conv2+block0.add")

# op 3, add t3 + t2 (no clamp); may overwrite either.
t = new_tensor([1, 3, 3, 4])
op = Op(3, [3, 2])
op.add = add_params(tensors[3].scale, tensors[2].scale, t.scale)
ops.append(op); tensors.append(t); names.append("block1.add")

# op 4, max_pool 3x3/1 p1 (same quantization).
t = Tensor([1, 3, 3, 4], tensors[4].scale, tensors[4].zp)
ops.append(Op(4, [4], window=(3, 3, 1, 1, 1, 1, 1, 1))); tensors.append(t); names.append("pool3")

# op 5, conv2d in layout 0: 1x1/1, 4 -> 6 channels.
t = new_tensor([1, 3, 3, 6])
op = Op(1, [5], window=(1, 1, 1, 1, 0, 0, 0, 0))
conv_weights(op, 6, 1, 1, 4, tensors[5].scale, t.scale)
ops.append(op); tensors.append(t); names.append("head.conv")

# op 6, mean over H x W to its own quantization.
t = new_tensor([1, 1, 1, 6])
op = Op(8, [6])
n = 9
m, s = quantize_multiplier(tensors[6].scale / t.scale)
k = min(int(math.floor(math.log2(n))), 32, 31 + s)
op.mean = ((m * 2**k) // n, s - k)
ops.append(op); tensors.append(t); names.append("head.mean")

# op 7, global_average_pool of the 1x1 mean (same quantization): [1, 1, 1, 6] -> [1, 6].
t = Tensor([1, 6], tensors[7].scale, tensors[7].zp)
ops.append(Op(5, [7])); tensors.append(t); names.append("head.pool")

# op 8, fully_connected 6 -> 5 logits.
t = new_tensor([1, 5])
op = Op(2, [8])
op.weights = [[rng.randint(-127, 127) for _ in range(6)] for _ in range(5)]
op.bias = [rng.randint(-2000, 2000) for _ in range(5)]
op.mult, op.shift = zip(*[quantize_multiplier(rng.uniform(0.5, 1.5) * 40 / (math.sqrt(6) * 127 * 30)) for _ in range(5)])
ops.append(op); tensors.append(t); names.append("fc")

labels = ["zero", "one", "two", "three", "four"]

# ---------------------------------------------------------------- shapes derived from the page


def conv_shapes(op):
    """(in H, W, C), (t H, W) of an op's convolution, kernel and stride."""
    h, w, c = tensors[op.inputs[0]].hwc
    kh, kw, sh, sw, pt, pl, pb, pr = op.window
    return (h, w, c), (out_size(h, kh, sh, pt, pb), out_size(w, kw, sw, pl, pr))


def ring_bytes(op):
    if op.kind != 7:
        return 0
    (_, _, _), (_, cw) = conv_shapes(op)
    cout = len(op.weights)
    return (op.pool[0] * cw * cout + 15) // 16 * 16


def blocked_scratch(op):
    """Section 4, conv2d: the scratch of a layout-1 op."""
    (h, w, cin), (oh, ow) = conv_shapes(op)
    kh, kw, sh, sw, pt, pl, pb, pr = op.window
    cout = len(op.weights)
    b = 1 if ow >= 8 else min(oh, -(-8 // ow))
    r = (b - 1) * sh + kh
    rows = r * (pl + w + pr) * cin + 4
    return -(-cout // 16) * 192 + -(-rows // 64) * 64


# ---------------------------------------------------------------- section 7: the plan

op_count, tensor_count = len(ops), len(tensors)


def last_use(t):
    if t == tensor_count - 1:
        return op_count
    return max((i for i, op in enumerate(ops) if t in op.inputs), default=-1)


def may_overwrite(i, t):
    """Section 4's table: add over either input, conv2d_add over its residual only."""
    op = ops[i]
    slots = [k for k, x in enumerate(op.inputs) if x == t]
    allowed = {3: {0, 1}, 6: {1}}.get(op.kind, set())
    return bool(slots) and all(k in allowed for k in slots) and last_use(t) == i


def blocks(nbytes):
    return (nbytes + 15) // 16


items = [(t - 1, last_use(t), blocks(tensors[t].bytes) * 16) for t in range(tensor_count)]  # (first, last, bytes)
ring_items = {i: len(items) + j for j, i in enumerate(i for i in range(op_count) if ring_bytes(ops[i]))}
for i in ring_items:
    items.append((i, i, ring_bytes(ops[i])))
offsets = [None] * len(items)
for k, (first, last, size) in enumerate(items):
    # In place over an input op k - 1 may overwrite, if that spot is free of everything else.
    candidates = []
    if k < tensor_count and k >= 1:
        candidates = [offsets[x] for x in ops[k - 1].inputs if may_overwrite(k - 1, x)]
    live = [j for j in range(k) if items[j][0] <= last and first <= items[j][1]]

    def free(at, partners=()):
        return all(offsets[j] + items[j][2] <= at or at + size <= offsets[j] for j in live if offsets[j] not in partners)

    placed = next((c for c in candidates if free(c, candidates)), None)
    if placed is None:
        at = 0
        while not free(at):
            at += 16
        placed = at
    offsets[k] = placed
activation_bytes = max(16, max(offsets[k] + items[k][2] for k in range(len(items))))
scratch_bytes = max([blocked_scratch(op) for op in ops if op.layout == 1] + [0])
scratch_bytes = (scratch_bytes + 15) // 16 * 16
arena_bytes = activation_bytes + scratch_bytes

peak = 0
for step in range(-1, op_count + 1):
    live = sum(blocks(tensors[t].bytes) for t in range(tensor_count) if t - 1 <= step <= last_use(t))
    if 0 <= step < op_count:
        live += ring_bytes(ops[step]) // 16
        if any(may_overwrite(step, x) for x in ops[step].inputs):
            live -= blocks(tensors[step + 1].bytes)
    peak = max(peak, live)
lower_bound = peak * 16 + scratch_bytes

# ---------------------------------------------------------------- sections 4 and 6: constants

constants = bytearray()


def align(buf, a):
    buf.extend(b"\0" * (-len(buf) % a))


def layout1(op):
    """Section 4: weight (c, ky, kx, ci) at (((c/16 * KH + ky) * G + k/4) * 16 + c%16) * 4 + k%4."""
    cout, kh, kw, cin = len(op.weights), len(op.weights[0]), len(op.weights[0][0]), len(op.weights[0][0][0])
    g = -(-(kw * cin) // 4)
    out = bytearray(-(-cout // 16) * 16 * kh * g * 4)
    for c in range(cout):
        for ky in range(kh):
            for kx in range(kw):
                for ci in range(cin):
                    k = kx * cin + ci
                    out[(((c // 16 * kh + ky) * g + k // 4) * 16 + c % 16) * 4 + k % 4] = op.weights[c][ky][kx][ci] & 0xFF
    return bytes(out)


def flat(weights):
    if isinstance(weights, int):
        return [weights]
    return [v for w in weights for v in flat(w)]


slot_values = []
for op in ops:
    slots = []
    if op.weights is not None:
        align(constants, 16)
        w_at = len(constants)
        data = layout1(op) if op.layout == 1 else bytes(v & 0xFF for v in flat(op.weights))
        constants += data
        arrays = []
        for values in (op.bias, op.mult, op.shift):
            align(constants, 16)
            arrays.append(len(constants))
            constants += struct.pack("<%di" % len(values), *values)
        slots = [("I", w_at), ("I", len(data))] + [("I", a) for a in arrays]
    if op.kind == 6:
        ls, (m0, s0), (m1, s1), (mo, so) = op.add
        packed = (s0 & 0xFF) | (s1 & 0xFF) << 8 | (so & 0xFF) << 16
        slots += [("i", op.conv_zp), ("i", ls), ("i", m0), ("i", m1), ("i", mo), ("I", packed)]
    elif op.kind == 7:
        k = op.pool
        slots += [("I", k[0] | k[1] << 8 | k[2] << 16 | k[3] << 24), ("I", k[4] | k[5] << 8 | k[6] << 16 | k[7] << 24),
                  ("I", offsets[ring_items[ops.index(op)]])]
    elif op.kind == 3:
        ls, (m0, s0), (m1, s1), (mo, so) = op.add
        slots = [("i", ls), ("i", m0), ("i", s0), ("i", m1), ("i", s1), ("i", mo), ("i", so)]
    elif op.kind == 8:
        slots = [("i", op.mean[0]), ("i", op.mean[1])]
    slot_values.append(slots + [("I", 0)] * (11 - len(slots)))
align(constants, 16)
input_table_at = len(constants)
for c in range(3):
    constants += bytes((p - 128) & 0xFF for p in range(256))  # not an image model: the identity
align(constants, 16)

# ---------------------------------------------------------------- sections 1 to 3 and 8: the file

tensor_table = bytearray()
for t, x in enumerate(tensors):
    dims = x.shape + [1] * (4 - len(x.shape))
    tensor_table += struct.pack("<BBH4ifiI", 1, len(x.shape), 0, *dims, x.scale, x.zp, offsets[t])

op_table = bytearray()
for i, op in enumerate(ops):
    input1 = op.inputs[1] if len(op.inputs) == 2 else 0xFFFF
    rec = struct.pack("<BBbbHHHH8B", op.kind, op.layout, op.act[0], op.act[1], op.inputs[0], input1, i + 1, 0, *op.window)
    rec += b"".join(struct.pack("<" + kind, v) for kind, v in slot_values[i])
    assert len(rec) == 64
    op_table += rec


def record(key, payload):
    return struct.pack("<HHI", key, 0, len(payload)) + payload + b"\0" * (-len(payload) % 4)


metadata = record(1, "\n".join(labels).encode()) + record(3, b"generator=Tools/rnb-writer.py") \
    + record(4, "\n".join(names).encode()) + record(77, b"a key this reader does not know")

tensor_at = 96
op_at = tensor_at + len(tensor_table)
constants_at = op_at + len(op_table)
metadata_at = constants_at + len(constants)
file_size = metadata_at + len(metadata)
header = bytearray(struct.pack("<4sHHII", b"RNB8", 1, 96, file_size, 0))
header += struct.pack("<IIIIIIIIIIIIHHI", 0, arena_bytes, scratch_bytes, lower_bound, tensor_count, tensor_at, op_count,
                      op_at, constants_at, len(constants), metadata_at, len(metadata), 0, tensor_count - 1, input_table_at)
header += b"\0" * (96 - len(header))
body = bytes(header) + tensor_table + op_table + constants + metadata
crc = zlib.crc32(body[16:]) & 0xFFFFFFFF
model = body[:12] + struct.pack("<I", crc) + body[16:]
assert len(model) == file_size

# ---------------------------------------------------------------- what the model computes (section 4)


def at(values, shape, y, x, c):
    h, w, ch = shape[1], shape[2], shape[3]
    return values[(y * w + x) * ch + c]


def conv(op, x, t_zp, act):
    xt = tensors[op.inputs[0]]
    (h, w, cin), (oh, ow) = conv_shapes(op)
    kh, kw, sh, sw, pt, pl, pb, pr = op.window
    cout = len(op.weights)
    out = []
    for y in range(oh):
        for xx in range(ow):
            for c in range(cout):
                acc = op.bias[c]
                for ky in range(kh):
                    iy = y * sh - pt + ky
                    if not 0 <= iy < h:
                        continue
                    for kx in range(kw):
                        ix = xx * sw - pl + kx
                        if not 0 <= ix < w:
                            continue
                        for ci in range(cin):
                            acc += op.weights[c][ky][kx][ci] * (at(x, xt.shape, iy, ix, ci) - xt.zp)
                acc = wrap32(acc)
                out.append(clamp(mbqm(acc, op.mult[c], op.shift[c]) + t_zp, *act))
    return out, (oh, ow, cout)


def max_pool(x, shape, window, act):
    h, w, c = shape
    kh, kw, sh, sw, pt, pl, pb, pr = window
    oh, ow = out_size(h, kh, sh, pt, pb), out_size(w, kw, sw, pl, pr)
    out = []
    for y in range(oh):
        for xx in range(ow):
            for ch in range(c):
                best = max(x[(iy * w + ix) * c + ch] for iy in range(y * sh - pt, y * sh - pt + kh) if 0 <= iy < h
                           for ix in range(xx * sw - pl, xx * sw - pl + kw) if 0 <= ix < w)
                out.append(clamp(best, *act))
    return out


def add(a, a_zp, b, b_zp, params, out_zp, act):
    ls, (m0, s0), (m1, s1), (mo, so) = params
    return [clamp(mbqm(wrap32(mbqm((p - a_zp) << ls, m0, s0) + mbqm((q - b_zp) << ls, m1, s1)), mo, so) + out_zp, *act)
            for p, q in zip(a, b)]


def run(x0):
    values = [x0]
    for i, op in enumerate(ops):
        out = tensors[i + 1]
        if op.kind == 1:
            y, _ = conv(op, values[op.inputs[0]], out.zp, op.act)
        elif op.kind == 7:
            t, (ch, cw, c) = conv(op, values[op.inputs[0]], out.zp, op.act)
            y = max_pool(t, (ch, cw, c), op.pool, (-128, 127))
        elif op.kind == 6:
            t, _ = conv(op, values[op.inputs[0]], op.conv_zp, (-128, 127))
            res = tensors[op.inputs[1]]
            y = add(t, op.conv_zp, values[op.inputs[1]], res.zp, op.add, out.zp, op.act)
        elif op.kind == 3:
            a, b = tensors[op.inputs[0]], tensors[op.inputs[1]]
            y = add(values[op.inputs[0]], a.zp, values[op.inputs[1]], b.zp, op.add, out.zp, op.act)
        elif op.kind == 4:
            y = max_pool(values[op.inputs[0]], tensors[op.inputs[0]].hwc, op.window, op.act)
        elif op.kind in (5, 8):
            xt = tensors[op.inputs[0]]
            h, w, c = xt.hwc
            nn = h * w
            y = []
            for ch in range(c):
                total = sum(values[op.inputs[0]][k * c + ch] for k in range(nn))
                if op.kind == 5:
                    avg = trunc_div(total + nn // 2, nn) if total > 0 else trunc_div(total - nn // 2, nn)
                    y.append(clamp(avg, *op.act))
                else:
                    y.append(clamp(mbqm(wrap32(total - xt.zp * nn), *op.mean) + out.zp, *op.act))
        elif op.kind == 2:
            x, xt = values[op.inputs[0]], tensors[op.inputs[0]]
            y = [clamp(mbqm(wrap32(op.bias[k] + sum(wv * (v - xt.zp) for wv, v in zip(op.weights[k], x))),
                            op.mult[k], op.shift[k]) + out.zp, *op.act) for k in range(len(op.weights))]
        values.append(y)
    return values[-1]


inputs = [[rng.randint(-128, 127) for _ in range(tensors[0].bytes)] for _ in range(4)]
expected = [run(x) for x in inputs]

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
(out / "model.rnb").write_bytes(model)
(out / "inputs.bin").write_bytes(bytes(v & 0xFF for x in inputs for v in x))
(out / "expected.bin").write_bytes(bytes(v & 0xFF for y in expected for v in y))
print(f"{out / 'model.rnb'}: {file_size} bytes, {op_count} ops, arena {arena_bytes} (scratch {scratch_bytes}, "
      f"lower bound {lower_bound}), {len(inputs)} inputs")
