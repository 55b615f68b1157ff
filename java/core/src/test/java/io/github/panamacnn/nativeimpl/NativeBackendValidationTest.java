package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.NativeKernelException;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.ffi.panamacnn_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each bad-input class throws the named exception before any native call (the downcall counter does
 * not move and the outputs keep their NaN fill), and C statuses map to exceptions naming the function.
 */
class NativeBackendValidationTest {
    private static final Conv2dGeometry G = Conv2dGeometry.of(2, 4, 5, 6, 6, 3, 2, 1, 2, 1, 0, 1, 1, 1, 1, 2);
    private static final MaxPool2dGeometry P = MaxPool2dGeometry.of(2, 3, 5, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);

    private final NativeBackend nb = NativeBackend.instance();
    private Tensor src, weights, bias, dst, psrc, pdst;
    private IndexBuffer idx;

    @BeforeEach
    void setUp() {
        src = Tensor.zeros(G.srcShape()).fill(1f);
        weights = Tensor.zeros(G.weightsShape()).fill(1f);
        bias = Tensor.zeros(G.biasShape()).fill(1f);
        dst = Tensor.zeros(G.dstShape()).fill(Float.NaN);
        psrc = Tensor.zeros(P.srcShape()).fill(1f);
        pdst = Tensor.zeros(P.dstShape()).fill(Float.NaN);
        idx = IndexBuffer.allocate(P.dstElementCount());
    }

    @AfterEach
    void tearDown() {
        for (AutoCloseable c : new AutoCloseable[] {src, weights, bias, dst, psrc, pdst, idx}) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already closed
            }
        }
    }

    /** Runs {@code call}, expects {@code type} with all {@code fragments}, and checks nothing native ran. */
    private void rejects(ThrowingCallable call, Class<? extends Throwable> type, String... fragments) {
        long before = NativeBackend.DOWNCALLS.sum();
        var a = assertThatThrownBy(call).isInstanceOf(type);
        for (String f : fragments) {
            a.hasMessageContaining(f);
        }
        assertThat(NativeBackend.DOWNCALLS.sum()).as("downcalls after a rejected call").isEqualTo(before);
        if (dst.isAlive()) {
            assertThat(nanCount(dst.toArray())).isEqualTo((int) dst.elementCount());
        }
        if (pdst.isAlive()) {
            assertThat(nanCount(pdst.toArray())).isEqualTo((int) pdst.elementCount());
        }
    }

    @Test
    void validCallsDoRunNative() {
        long before = NativeBackend.DOWNCALLS.sum();
        nb.conv2dForward(G, src, weights, bias, dst);
        assertThat(NativeBackend.DOWNCALLS.sum()).isGreaterThan(before);
        assertThat(nanCount(dst.toArray())).isZero();
    }

    @Test
    void wrongShapes() {
        try (Tensor badSrc = Tensor.zeros(2, 4, 5, 7); Tensor badW = Tensor.zeros(6, 4, 3, 2);
             Tensor badB = Tensor.zeros(5); Tensor badDst = Tensor.zeros(2, 6, 5, 3)) {
            rejects(() -> nb.conv2dForward(G, badSrc, weights, bias, dst), IllegalArgumentException.class,
                    "src", "[2, 4, 5, 7]", "[2, 4, 5, 6]");
            rejects(() -> nb.conv2dForward(G, src, badW, bias, dst), IllegalArgumentException.class, "weights");
            rejects(() -> nb.conv2dForward(G, src, weights, badB, dst), IllegalArgumentException.class, "bias");
            rejects(() -> nb.conv2dForward(G, src, weights, bias, badDst), IllegalArgumentException.class, "dst");
            rejects(() -> nb.conv2dBackwardData(G, dst, weights, badSrc), IllegalArgumentException.class, "diffSrc");
            rejects(() -> nb.conv2dBackwardWeights(G, src, dst, badW, null), IllegalArgumentException.class,
                    "diffWeights");
            rejects(() -> nb.conv2dBackwardWeights(G, src, dst, weights, badB), IllegalArgumentException.class,
                    "diffBias");
            rejects(() -> nb.maxPool2dForward(P, psrc, dst, idx), IllegalArgumentException.class, "dst");
            rejects(() -> nb.maxPool2dBackward(P, pdst, idx, badSrc), IllegalArgumentException.class, "diffSrc");
        }
    }

    @Test
    void nullArguments() {
        rejects(() -> nb.conv2dForward(null, src, weights, bias, dst), NullPointerException.class, "geometry");
        rejects(() -> nb.conv2dForward(G, null, weights, bias, dst), NullPointerException.class, "src");
        rejects(() -> nb.conv2dForward(G, src, weights, bias, null), NullPointerException.class, "dst");
        rejects(() -> nb.maxPool2dBackward(P, pdst, null, psrc), NullPointerException.class, "indices");
    }

    @Test
    void closedTensorsAndBuffers() {
        weights.close();
        rejects(() -> nb.conv2dForward(G, src, weights, bias, dst), IllegalStateException.class, "weights", "closed");
        Tensor out = Tensor.zeros(G.dstShape());
        out.close();
        try (Tensor w = Tensor.zeros(G.weightsShape())) {
            rejects(() -> nb.conv2dForward(G, src, w, null, out), IllegalStateException.class, "dst", "closed");
        }
        idx.close();
        rejects(() -> nb.maxPool2dForward(P, psrc, pdst, idx), IllegalStateException.class, "indices", "closed");
        rejects(() -> nb.maxPool2dBackward(P, pdst, idx, psrc), IllegalStateException.class, "indices", "closed");
    }

    @Test
    void freedArenaMemory() {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.allocate(arena, G.srcShape());
        arena.close();
        rejects(() -> nb.conv2dForward(G, t, weights, bias, dst), IllegalStateException.class, "src", "freed");
    }

    @Test
    void wrongIndexBufferLength() {
        try (IndexBuffer shortIdx = IndexBuffer.allocate(P.dstElementCount() - 1)) {
            rejects(() -> nb.maxPool2dForward(P, psrc, pdst, shortIdx), IllegalArgumentException.class,
                    "indices", String.valueOf(P.dstElementCount() - 1), String.valueOf(P.dstElementCount()));
            rejects(() -> nb.maxPool2dBackward(P, pdst, shortIdx, psrc), IllegalArgumentException.class, "indices");
        }
    }

    @Test
    void badTapMasksAreRejectedBeforeAnyDowncall() {
        try (IndexBuffer shortTaps = IndexBuffer.allocate(P.dstElementCount() - 1, IndexBuffer.Kind.TAPS);
             IndexBuffer closedTaps = IndexBuffer.allocate(P.dstElementCount(), IndexBuffer.Kind.TAPS)) {
            rejects(() -> nb.maxPool2dForward(P, psrc, pdst, shortTaps), IllegalArgumentException.class,
                    "indices", "uint8 max-pool taps", String.valueOf(P.dstElementCount() - 1));
            rejects(() -> nb.maxPool2dBackward(P, pdst, shortTaps, psrc), IllegalArgumentException.class, "indices");
            closedTaps.close();
            rejects(() -> nb.maxPool2dForward(P, psrc, pdst, closedTaps), IllegalStateException.class, "indices",
                    "closed");
        }
        // 17x17 = 289 taps: no tap mask, whatever C would say
        MaxPool2dGeometry big = MaxPool2dGeometry.of(1, 1, 17, 17, 17, 17, 1, 1, 0, 0, 0, 0, 1, 1, false);
        try (Tensor bx = Tensor.zeros(big.srcShape()); Tensor by = Tensor.zeros(big.dstShape()).fill(Float.NaN);
             IndexBuffer taps = IndexBuffer.allocate(1, IndexBuffer.Kind.TAPS)) {
            rejects(() -> nb.maxPool2dForward(big, bx, by, taps), IllegalArgumentException.class, "289 taps",
                    "MAX_MASK_TAPS = 256");
        }
    }

    @Test
    void tapsNamingPaddingComeBackAsNativeKernelException() {
        // P has no padding but 5x5 planes with 2x2 stride-2 windows: every tap 0..3 is inside; tap 4 is not a tap
        int[] bad = new int[(int) P.dstElementCount()];
        bad[5] = 4;
        try (IndexBuffer taps = IndexBuffer.of(IndexBuffer.Kind.TAPS, bad); Tensor dy = Tensor.zeros(P.dstShape())) {
            long before = NativeBackend.DOWNCALLS.sum();
            assertThatThrownBy(() -> nb.maxPool2dBackward(P, dy, taps, psrc))
                    .isInstanceOfSatisfying(NativeKernelException.class,
                            e -> assertThat(e.status()).isEqualTo(panamacnn_h.PCNN_STATUS_OUT_OF_RANGE()))
                    .hasMessageContaining("pcnn_maxpool2d_bwd_taps");
            assertThat(NativeBackend.DOWNCALLS.sum()).isGreaterThan(before); // this one is C's to catch
        }
    }

    @Test
    void wrappedSegmentsOfTheWrongSizeAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * G.n() * G.oc() * G.oh() * G.ow() + 4, 64);
            assertThatThrownBy(() -> Tensor.wrap(seg, G.dstShape())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bytes");
        }
    }

    @Test
    void outputsAliasingInputsAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Conv2dGeometry same = Conv2dGeometry.of(1, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); // dst shape == src shape
            MemorySegment seg = arena.allocate(4L * 2 * 4 * 4, 64);
            Tensor a = Tensor.wrap(seg, same.srcShape());
            Tensor b = Tensor.wrap(seg, same.dstShape());
            try (Tensor w = Tensor.zeros(same.weightsShape())) {
                rejects(() -> nb.conv2dForward(same, a, w, null, b), IllegalArgumentException.class,
                        "dst overlaps src");
                rejects(() -> nb.conv2dBackwardData(same, a, w, b), IllegalArgumentException.class,
                        "diffSrc overlaps diffDst");
            }
        }
    }

    @Test
    void segmentChecksNameTheArgument() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ok = arena.allocate(64, 16);
            assertThat(NativeBackend.checkSegment("x", ok, 16)).isSameAs(ok);
            assertThatThrownBy(() -> NativeBackend.checkSegment("x", MemorySegment.ofArray(new float[16]), 16))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x is a heap segment");
            assertThatThrownBy(() -> NativeBackend.checkSegment("w", ok, 15))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("w segment has 64 bytes")
                    .hasMessageContaining("needs 60");
            MemorySegment misaligned = ok.asSlice(2, 60);
            assertThatThrownBy(() -> NativeBackend.checkSegment("b", misaligned, 15))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("b segment address")
                    .hasMessageContaining("not 4-byte aligned");
        }
        Arena closed = Arena.ofConfined();
        MemorySegment dead = closed.allocate(64, 16);
        closed.close();
        assertThatThrownBy(() -> NativeBackend.checkSegment("d", dead, 16))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("d: its memory has been freed");
    }

    // ---- status mapping ----

    @Test
    void rawStatusesFromTheLibrary() {
        int ok = panamacnn_h.PCNN_STATUS_OK();
        int invalid = panamacnn_h.PCNN_STATUS_INVALID_ARGUMENT();
        assertThat(ok).isZero();
        assertThat(invalid).isEqualTo(1);
        assertThat(panamacnn_h.pcnn_conv2d_desc_init(MemorySegment.NULL)).isEqualTo(invalid);
        assertThat(panamacnn_h.pcnn_maxpool2d_desc_init(MemorySegment.NULL)).isEqualTo(invalid);
        assertThat(panamacnn_h.pcnn_set_num_threads(0)).isEqualTo(invalid);
        assertThat(panamacnn_h.pcnn_set_num_threads(257)).isEqualTo(invalid);
        assertThat(panamacnn_h.pcnn_set_max_isa(7)).isEqualTo(invalid);
        assertThat(panamacnn_h.pcnn_set_max_isa(-1)).isEqualTo(invalid);
        try (Arena arena = Arena.ofConfined()) {
            // an all-zero (never initialised) descriptor: n = 0 is invalid
            MemorySegment desc = io.github.panamacnn.ffi.pcnn_conv2d_desc.allocate(arena);
            desc.fill((byte) 0);
            MemorySegment buf = arena.allocate(64, 16);
            assertThat(panamacnn_h.pcnn_conv2d_fwd(desc, buf, buf, MemorySegment.NULL, buf)).isEqualTo(invalid);
            // a valid descriptor but a NULL src
            MemorySegment good = nb.convDesc(G);
            try (Tensor w = Tensor.zeros(G.weightsShape()); Tensor d = Tensor.zeros(G.dstShape())) {
                assertThat(panamacnn_h.pcnn_conv2d_fwd(good, MemorySegment.NULL, w.segment(), MemorySegment.NULL,
                        d.segment())).isEqualTo(invalid);
            }
        }
        String okText = NativeLibrary.statusText(ok);
        String invalidText = NativeLibrary.statusText(invalid);
        assertThat(okText).isNotBlank();
        assertThat(invalidText).isNotBlank().isNotEqualTo(okText);
        assertThat(NativeLibrary.statusText(12345)).isNotBlank(); // never NULL, even for unknown codes
    }

    @Test
    void checkMapsANonOkStatusToNativeKernelExceptionNamingTheFunction() {
        NativeBackend.check("pcnn_whatever", panamacnn_h.PCNN_STATUS_OK()); // no exception
        int status = panamacnn_h.PCNN_STATUS_OUT_OF_RANGE();
        assertThatThrownBy(() -> NativeBackend.check("pcnn_conv2d_fwd", status))
                .isInstanceOfSatisfying(NativeKernelException.class, e -> assertThat(e.status()).isEqualTo(2))
                .hasMessageContaining("pcnn_conv2d_fwd")
                .hasMessageContaining("status 2")
                .hasMessageContaining(NativeLibrary.statusText(status));
    }

    @Test
    void checkMapsOutOfMemoryToOutOfMemoryErrorNamingTheFunction() {
        int status = panamacnn_h.PCNN_STATUS_OUT_OF_MEMORY();
        assertThat(status).isEqualTo(4); // the ABI's value, never renumbered
        assertThatThrownBy(() -> NativeBackend.check("pcnn_conv2d_bwd_data", status))
                .isInstanceOf(OutOfMemoryError.class)
                .hasMessageContaining("pcnn_conv2d_bwd_data")
                .hasMessageContaining("native scratch memory")
                .hasMessageContaining("status 4")
                .hasMessageContaining(NativeLibrary.statusText(status));
    }

    @Test
    void outOfRangeMaxPoolIndexComesBackAsNativeKernelException() {
        int[] bad = new int[(int) P.dstElementCount()];
        bad[7] = 25; // plane is 5*5 = 25: one past the end
        try (IndexBuffer ib = IndexBuffer.of(bad); Tensor dy = Tensor.zeros(P.dstShape()).fill(1f)) {
            long before = NativeBackend.DOWNCALLS.sum();
            assertThatThrownBy(() -> nb.maxPool2dBackward(P, dy, ib, psrc))
                    .isInstanceOfSatisfying(NativeKernelException.class,
                            e -> assertThat(e.status()).isEqualTo(panamacnn_h.PCNN_STATUS_OUT_OF_RANGE()))
                    .hasMessageContaining("pcnn_maxpool2d_bwd");
            assertThat(NativeBackend.DOWNCALLS.sum()).isGreaterThan(before); // this one is C's to catch
        }
        int[] negative = new int[(int) P.dstElementCount()];
        negative[0] = -1;
        try (IndexBuffer ib = IndexBuffer.of(negative); Tensor dy = Tensor.zeros(P.dstShape())) {
            assertThatThrownBy(() -> nb.maxPool2dBackward(P, dy, ib, psrc))
                    .isInstanceOf(NativeKernelException.class).hasMessageContaining("pcnn_maxpool2d_bwd");
        }
    }

    // ---- descriptor cache ----

    @Test
    void descriptorsAreBuiltOncePerGeometryAndMatchJava() {
        Conv2dGeometry g = Conv2dGeometry.of(1, 3, 11, 13, 5, 3, 3, 2, 1, 2, 0, 1, 3, 2, 1, 1);
        MemorySegment d1 = nb.convDesc(g);
        MemorySegment d2 = nb.convDesc(Conv2dGeometry.of(1, 3, 11, 13, 5, 3, 3, 2, 1, 2, 0, 1, 3, 2, 1, 1));
        assertThat(d2).isSameAs(d1);
        assertThat(io.github.panamacnn.ffi.pcnn_conv2d_desc.oh(d1)).isEqualTo(g.oh());
        assertThat(io.github.panamacnn.ffi.pcnn_conv2d_desc.ow(d1)).isEqualTo(g.ow());
        MaxPool2dGeometry p = MaxPool2dGeometry.of(1, 2, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true);
        MemorySegment q = nb.poolDesc(p);
        assertThat(nb.poolDesc(MaxPool2dGeometry.of(1, 2, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true))).isSameAs(q);
        assertThat(io.github.panamacnn.ffi.pcnn_maxpool2d_desc.oh(q)).isEqualTo(p.oh());
        assertThat(io.github.panamacnn.ffi.pcnn_maxpool2d_desc.ow(q)).isEqualTo(p.ow());

        // steady state: one downcall per op, no descriptor init
        Conv2dGeometry fresh = Conv2dGeometry.of(1, 1, 9, 10, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        try (Tensor s = Tensor.zeros(fresh.srcShape()); Tensor w = Tensor.zeros(fresh.weightsShape());
             Tensor o = Tensor.zeros(fresh.dstShape())) {
            long c0 = NativeBackend.DOWNCALLS.sum();
            nb.conv2dForward(fresh, s, w, null, o);
            long c1 = NativeBackend.DOWNCALLS.sum();
            nb.conv2dForward(fresh, s, w, null, o);
            long c2 = NativeBackend.DOWNCALLS.sum();
            assertThat(c1 - c0).isEqualTo(2); // desc init + kernel
            assertThat(c2 - c1).isEqualTo(1); // kernel only
        }
    }

    @Test
    void descriptorCacheIsBounded() {
        for (int i = 1; i <= NativeBackend.MAX_CACHED_DESCS + 10; i++) {
            nb.convDesc(Conv2dGeometry.simple(1, 1, 1, i, 1, 1, 1));
        }
        assertThat(nb.cachedDescriptors()).isLessThanOrEqualTo(2 * NativeBackend.MAX_CACHED_DESCS);
    }

    private static int nanCount(float[] a) {
        int n = 0;
        for (float v : a) {
            if (Float.isNaN(v)) {
                n++;
            }
        }
        return n;
    }
}
