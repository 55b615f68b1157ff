#!/usr/bin/python3
"""Independent reference results for panama-cnn, computed with PyTorch.

Usage: torch_reference.py SPEC_JSON

Used by TorchCrossCheckTest (java/src/test/java/io/github/panamacnn/TorchCrossCheckTest.java).
The spec names a directory and a list of cases; every input is a raw little-endian float32
file written by the test. For each case this script writes raw little-endian result files
into the same directory, then a summary ("done.txt", tab-separated lines) listing what it
wrote (or, per case, the error PyTorch raised). Only the standard library and torch are used.

Convolution case ("op": "conv"), fields n c ih iw oc kh kw stride_h stride_w pad_top
pad_bottom pad_left pad_right dilation_h dilation_w groups, "bias" (bool) and input files
"x" [n,c,ih,iw], "w" [oc,c/groups,kh,kw], "b" [oc] (when bias), "dy" [n,oc,oh,ow].
Computed in float64 (inputs converted to double), with autograd for the gradients:
    y  = conv2d(pad(x, (left, right, top, bottom)), w, b, stride, padding=0, dilation, groups)
    dx, dw, db = gradients of sum(y * dy)
and again on |x|, |w|, |b|, |dy|: the magnitude sums S of the same operations, which bound
the rounding error of a float32 result (gamma(K) * S). Outputs (float64):
    <id>.y  <id>.dx  <id>.dw  [<id>.db]   and   <id>.y_abs <id>.dx_abs <id>.dw_abs [<id>.db_abs]

Max-pool case ("op": "pool"), fields n c ih iw kh kw stride_h stride_w pad_h pad_w
dilation_h dilation_w ceil_mode (PyTorch only allows symmetric padding <= k/2), input files
"x" [n,c,ih,iw] and "dy" [n,c,oh,ow]. Computed in float32 with PyTorch's own CPU kernel:
    y, idx = max_pool2d(x, ..., return_indices=True); dx = gradient of sum(y * dy)
Outputs: <id>.y (float32), <id>.idx (int64 plane offsets iy*iw + ix), <id>.dx (float32).

Max-pool shape case ("op": "pool_shape"), the pool fields without data: PyTorch's own answer
to "is this geometry valid, and what is the output size" (max_pool2d on a 1x1xihxiw zero
tensor); PyTorch's checks decide, nothing is reproduced here. No output files.
"""

import array
import json
import os
import sys
import traceback

import torch
import torch.nn.functional as F


def read_f32(path, count):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    if len(a) != count:
        raise ValueError("%s holds %d floats, expected %d" % (path, len(a), count))
    return a


def tensor_f32(path, shape):
    count = 1
    for d in shape:
        count *= d
    a = read_f32(path, count)
    # float32 -> Python float (double) is exact, NaN and infinities included.
    return torch.tensor(a.tolist(), dtype=torch.float32).reshape(shape)


def write(path, typecode, t):
    a = array.array(typecode, t.detach().contiguous().reshape(-1).tolist())
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        f.write(a.tobytes())


def conv_case(case, d):
    n, c, ih, iw, oc = case["n"], case["c"], case["ih"], case["iw"], case["oc"]
    kh, kw, groups = case["kh"], case["kw"], case["groups"]
    stride = (case["stride_h"], case["stride_w"])
    dilation = (case["dilation_h"], case["dilation_w"])
    pads = (case["pad_left"], case["pad_right"], case["pad_top"], case["pad_bottom"])
    x = tensor_f32(os.path.join(d, case["x"]), (n, c, ih, iw)).double()
    w = tensor_f32(os.path.join(d, case["w"]), (oc, c // groups, kh, kw)).double()
    b = tensor_f32(os.path.join(d, case["b"]), (oc,)).double() if case["bias"] else None

    def run(x, w, b, dy_path):
        x = x.clone().requires_grad_(True)
        w = w.clone().requires_grad_(True)
        if b is not None:
            b = b.clone().requires_grad_(True)
        y = F.conv2d(F.pad(x, pads, mode="constant", value=0.0), w, b,
                     stride=stride, padding=0, dilation=dilation, groups=groups)
        dy = tensor_f32(dy_path, tuple(y.shape)).double()
        return x, w, b, y, dy

    dy_path = os.path.join(d, case["dy"])
    x1, w1, b1, y, dy = run(x, w, b, dy_path)
    y.backward(dy)
    out = {"oh": int(y.shape[2]), "ow": int(y.shape[3])}
    cid = case["id"]
    write(os.path.join(d, cid + ".y"), "d", y)
    write(os.path.join(d, cid + ".dx"), "d", x1.grad)
    write(os.path.join(d, cid + ".dw"), "d", w1.grad)
    if b1 is not None:
        write(os.path.join(d, cid + ".db"), "d", b1.grad)

    # Magnitude sums: the same linear maps on absolute values (all terms are then >= 0).
    xa, wa, ba, ya, _ = run(x.abs(), w.abs(), None if b is None else b.abs(), dy_path)
    ya.backward(dy.abs())
    write(os.path.join(d, cid + ".y_abs"), "d", ya)
    write(os.path.join(d, cid + ".dx_abs"), "d", xa.grad)
    write(os.path.join(d, cid + ".dw_abs"), "d", wa.grad)
    if ba is not None:
        write(os.path.join(d, cid + ".db_abs"), "d", ba.grad)
    return out


def pool_case(case, d):
    n, c, ih, iw = case["n"], case["c"], case["ih"], case["iw"]
    x = tensor_f32(os.path.join(d, case["x"]), (n, c, ih, iw)).requires_grad_(True)
    y, idx = F.max_pool2d(x, kernel_size=(case["kh"], case["kw"]),
                          stride=(case["stride_h"], case["stride_w"]),
                          padding=(case["pad_h"], case["pad_w"]),
                          dilation=(case["dilation_h"], case["dilation_w"]),
                          ceil_mode=bool(case["ceil_mode"]), return_indices=True)
    dy = tensor_f32(os.path.join(d, case["dy"]), tuple(y.shape))
    y.backward(dy)
    cid = case["id"]
    write(os.path.join(d, cid + ".y"), "f", y)
    write(os.path.join(d, cid + ".idx"), "q", idx)
    write(os.path.join(d, cid + ".dx"), "f", x.grad)
    return {"oh": int(y.shape[2]), "ow": int(y.shape[3])}


def pool_shape_case(case, d):
    x = torch.zeros((1, 1, case["ih"], case["iw"]), dtype=torch.float32)
    y, _ = F.max_pool2d(x, kernel_size=(case["kh"], case["kw"]),
                        stride=(case["stride_h"], case["stride_w"]),
                        padding=(case["pad_h"], case["pad_w"]),
                        dilation=(case["dilation_h"], case["dilation_w"]),
                        ceil_mode=bool(case["ceil_mode"]), return_indices=True)
    return {"oh": int(y.shape[2]), "ow": int(y.shape[3])}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: torch_reference.py SPEC_JSON\n")
        return 2
    with open(argv[1], "r", encoding="utf-8") as f:
        spec = json.load(f)
    d = spec["dir"]
    torch.set_num_threads(int(spec.get("threads", 1)))
    results = {}
    for case in spec["cases"]:
        try:
            if case["op"] == "conv":
                results[case["id"]] = conv_case(case, d)
            elif case["op"] == "pool":
                results[case["id"]] = pool_case(case, d)
            elif case["op"] == "pool_shape":
                results[case["id"]] = pool_shape_case(case, d)
            else:
                raise ValueError("unknown op " + repr(case["op"]))
        except Exception as e:  # reported per case, so the test can name it
            results[case["id"]] = {"error": "%s: %s" % (type(e).__name__, e)}
            if case["op"] != "pool_shape":  # rejected shapes are expected there
                traceback.print_exc()
    # A line format, so that the Java side needs no JSON parser:
    #   torch<TAB>version, then per case: id<TAB>ok<TAB>oh<TAB>ow  or  id<TAB>error<TAB>message
    with open(os.path.join(d, "done.txt"), "w", encoding="utf-8") as f:
        f.write("torch\t%s\n" % torch.__version__)
        for cid, r in results.items():
            if "error" in r:
                f.write("%s\terror\t%s\n" % (cid, " ".join(r["error"].split())))
            else:
                f.write("%s\tok\t%d\t%d\n" % (cid, r["oh"], r["ow"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
