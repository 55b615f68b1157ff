#!/usr/bin/env python3
"""Writes the seed corpora under native/fuzz/corpus/<harness>/ (checked in; rerun after a
change of the input layout of a harness). Each seed is a readable geometry in the byte
layout the harness decodes (fuzz_conv.h, fuzz_pool.h, fuzz_desc.c); the fuzzer mutates them."""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def conv(n, g, cg, ocg, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, integer, bias,
         threads=0, depthwise=False, misalign=(0, 1, 2, 3, 5, 7), data=b""):
    b = [n - 1, g - 1]
    if depthwise:
        b += [224 + (ocg - 1), 0]  # oc = groups * (1 + byte % 2); the oc byte is unused
    else:
        b += [0, cg - 1]
        b += [ocg - 1] if ocg <= 20 else [240 + (ocg - 90) // 3]
    b += [ih - 1, iw - 1, kh - 1, kw - 1, sh - 1, sw - 1, pt, pb, pl, pr, dh - 1, dw - 1]
    b += [integer | bias << 1 | threads << 2]
    b += list(misalign)
    return bytes(b) + data


def pool(n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, ceil, threads=0,
         misalign=(0, 3, 1, 0, 0, 0), data=b""):
    b = [n - 1, c - 1, ih - 1, iw - 1, kh - 1, kw - 1, sh - 1, sw - 1, pt, pb, pl, pr, dh - 1,
         dw - 1, ceil | threads << 1]
    return bytes(b + list(misalign)) + data


def main():
    rnd = random.Random(20261204)
    # float data with a few specials (tag 0xf8xx: +inf, -inf, NaN ...), little-endian u16
    specials = b"".join(struct.pack("<H", v) for v in
                        (0xf800, 0x1234, 0xf801, 0x0400, 0xf802, 0x7fff, 0xf803, 0x8001))
    convs = {
        "3x3_pad1": conv(1, 1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1),
        "3x3_pad1_int": conv(2, 1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        "pointwise_w20": conv(1, 1, 9, 19, 4, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0),
        "stride2_w33_tails": conv(1, 1, 3, 5, 9, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1),
        "depthwise": conv(1, 4, 1, 1, 7, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, depthwise=True),
        "groups2_dil2_asym": conv(2, 2, 3, 3, 9, 13, 3, 2, 1, 2, 2, 0, 1, 3, 2, 2, 1, 0, threads=1),
        "wide96": conv(1, 1, 4, 96, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        "wide96_s2_float": conv(1, 1, 3, 96, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0),
        "stem_k7_s2_p3": conv(1, 1, 3, 8, 15, 15, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 0, 1),
        "pad_gt_kernel_tall": conv(1, 1, 2, 3, 17, 1, 3, 1, 1, 1, 5, 6, 0, 0, 1, 1, 1, 1),
        "specials_pad": conv(1, 1, 2, 3, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, data=specials),
        "specials_nopad": conv(1, 1, 2, 3, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, data=specials),
        "long_row_w72": conv(1, 1, 2, 17, 3, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1),
    }
    for h in ("conv2d_fwd", "conv2d_bwd_data", "conv2d_bwd_weights"):
        for name, data in convs.items():
            write(h, name, data)

    ties = bytes(rnd.choice([0x80, 0x81, 0x82, 0x00, 0x10, 0x20, 0x30, 0x41, 0x55, 0x6f, 0x99])
                 for _ in range(400))
    pools = {
        "2x2_s2": pool(2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, data=ties),
        "3x3_s2_p1_ceil": pool(1, 4, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, data=ties),
        "3x3_s1_p1_c17_w33": pool(1, 17, 6, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, threads=1),
        "dilation_ceil": pool(1, 2, 9, 11, 3, 2, 2, 2, 1, 1, 1, 1, 2, 3, 1, data=ties),
        "wide_1xW": pool(1, 3, 1, 67, 1, 3, 1, 2, 0, 0, 1, 1, 1, 1, 1),
        "global_7x7": pool(2, 3, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0, data=ties),
        "stride_gt_kernel": pool(1, 2, 11, 13, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1),
        "asym_pad": pool(1, 3, 7, 6, 3, 2, 1, 2, 2, 0, 0, 1, 1, 1, 0, data=ties),
    }
    for h in ("maxpool2d_fwd", "maxpool2d_bwd"):
        for name, data in pools.items():
            write(h, name, data)
    # backward with edited indices: src 1x1x4x4 (16 values), then 2 edits, then diff_dst
    src16 = bytes(rnd.randrange(256) for _ in range(16))
    edits = bytes([2, 3, 0, 0, 5, 0, 1])  # 2 edits: at 3 -> ih*iw, at 5 -> -1
    write("maxpool2d_bwd", "bad_indices",
          pool(1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, data=src16 + edits + bytes(8)))
    write("maxpool2d_bwd", "valid_edit",
          pool(1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0,
               data=src16 + bytes([1, 2, 0, 4 + 8 * 3]) + bytes(16)))

    # backward from the compact mask (read after the index part): a tap-edit count, then per
    # edit u16 output and the tap byte. Every src / diff_dst byte given, so the edits are read.
    def taps_case(shape, ns, nd, tap_edits):
        data = bytes(rnd.randrange(256) for _ in range(ns)) + bytes([0])  # no index edits
        data += bytes(rnd.randrange(256) for _ in range(nd)) + bytes([len(tap_edits)])
        for at, tap in tap_edits:
            data += struct.pack("<H", at) + bytes([tap])
        return pool(*shape, data=data)
    # 2x2 s2 (direct path): tap 4 past the window, tap 200
    write("maxpool2d_bwd", "taps_past_window",
          taps_case((1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), 16, 4, [(1, 4), (3, 200)]))
    # 3x3 s2 p1 on 21x40 (planes over 400 floats: the AVX-512 row path in mask mode), 2
    # threads: a padded tap (output 0, tap 0), then a valid in-window tap elsewhere
    write("maxpool2d_bwd", "taps_row_path_padded",
          taps_case((1, 1, 21, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 1), 840, 220,
                    [(0, 0), (25, 8)]))
    write("maxpool2d_bwd", "taps_row_path_valid",
          taps_case((2, 1, 21, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), 1680, 440,
                    [(25, 8), (300, 4), (439, 4)]))

    # desc: selector byte (bit 0: max-pool; bit 1: ceil_mode is a field; bit 2: ceil) then
    # one selector per field: < 160 small (sel % 40 - 4), 160..223 edge values, 224..239 u16,
    # >= 240 eight raw bytes.
    def small(v):
        return v + 4

    conv_ok = [small(v) for v in (1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0)]
    write("desc", "conv_ok", bytes([0] + conv_ok))
    write("desc", "conv_int64_max_pad", bytes([0] + [small(v) for v in (1, 1, 1, 1, 1, 1, 1)]
                                              + [165, small(1)] + [165] + [small(v) for v in (0, 0, 0, 1, 1, 1, 0, 0)]))
    write("desc", "conv_huge_counts", bytes([0, 176, 176, 176, 176] + [small(v) for v in (1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0)]))
    pool_ok = [small(v) for v in (2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0)]
    write("desc", "pool_ok", bytes([1] + pool_ok))
    write("desc", "pool_ceil", bytes([1 | 4] + [small(v) for v in (1, 4, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0)]))
    write("desc", "pool_window_past_input_ceil", bytes([1 | 4] + [small(v) for v in (1, 1, 3, 3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, 0, 0)]))
    write("desc", "pool_dilation_jump", bytes([1] + [small(v) for v in (1, 1, 2, 2, 2, 2, 1, 1, 3, 3, 3, 3, 5, 5, 0, 0)]))
    write("desc", "pool_big_plane", bytes([1] + [small(1), small(1), 173, 173] + [small(v) for v in (1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0)]))


if __name__ == "__main__":
    main()
