package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Tensor-level adapter: validation first, float in, double inside, one rounding out. */
class ReferenceBackendTest {

    private final ReferenceBackend backend = new ReferenceBackend();

    @Test
    void nameIsReference() {
        assertThat(backend.name()).isEqualTo("reference");
    }

    @Test
    void convForwardByHandThroughTensors() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        try (Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
             Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
             Tensor b = Tensor.of(new float[] {0.5f}, 1);
             Tensor y = Tensor.zeros(1, 1, 2, 2).fill(Float.NaN)) {
            backend.conv2dForward(g, x, w, b, y);
            // 37, 47, 67, 77 (see ReferenceConvKnownAnswerTest) + 0.5
            assertThat(y.toArray()).containsExactly(37.5f, 47.5f, 67.5f, 77.5f);
            backend.conv2dForward(g, x, w, null, y);
            assertThat(y.toArray()).containsExactly(37f, 47f, 67f, 77f);
        }
    }

    @Test
    void convAccumulatesInDoubleAndRoundsOnce() {
        // 1 + 2^-24 + 2^-24: in float, left to right, each 2^-24 is lost (ties to even) and the sum is 1;
        // in double the sum is 1 + 2^-23 exactly, which is a float. 1x1x1x3 input, 1x3 kernel of ones.
        float tiny = (float) Math.scalb(1.0, -24);
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 1, 3, 1, 1, 3);
        try (Tensor x = Tensor.of(new float[] {1, tiny, tiny}, 1, 1, 1, 3);
             Tensor w = Tensor.of(new float[] {1, 1, 1}, 1, 1, 1, 3);
             Tensor y = Tensor.zeros(1, 1, 1, 1)) {
            backend.conv2dForward(g, x, w, null, y);
            assertThat(y.get(0)).isEqualTo(1.0f + (float) Math.scalb(1.0, -23));
        }
    }

    @Test
    void convBackwardPassesMatchTheKernels() {
        SplittableRandom rnd = new SplittableRandom(42);
        Conv2dGeometry g = Conv2dGeometry.of(2, 4, 6, 5, 6, 3, 2, 2, 1, 1, 0, 0, 1, 2, 1, 2);
        float[] xs = randomFloats(rnd, RefTestSupport.srcCount(g));
        float[] ws = randomFloats(rnd, RefTestSupport.weightCount(g));
        float[] dys = randomFloats(rnd, RefTestSupport.dstCount(g));
        try (Tensor x = Tensor.of(xs, g.srcShape());
             Tensor w = Tensor.of(ws, g.weightsShape());
             Tensor dy = Tensor.of(dys, g.dstShape());
             Tensor dx = Tensor.zeros(g.srcShape()).fill(Float.NaN);
             Tensor dw = Tensor.zeros(g.weightsShape()).fill(Float.NaN);
             Tensor db = Tensor.zeros(g.biasShape()).fill(Float.NaN)) {
            backend.conv2dBackwardData(g, dy, w, dx);
            backend.conv2dBackwardWeights(g, x, dy, dw, db);

            double[] edx = new double[xs.length];
            ReferenceKernels.conv2dBackwardData(g, widen(dys), widen(ws), edx);
            double[] edw = new double[ws.length];
            double[] edb = new double[(int) g.oc()];
            ReferenceKernels.conv2dBackwardWeights(g, widen(xs), widen(dys), edw, edb);
            assertThat(dx.toArray()).containsExactly(ReferenceBackend.toFloats(edx));
            assertThat(dw.toArray()).containsExactly(ReferenceBackend.toFloats(edw));
            assertThat(db.toArray()).containsExactly(ReferenceBackend.toFloats(edb));

            // diffBias may be null; diffWeights is still written
            dw.fill(Float.NaN);
            backend.conv2dBackwardWeights(g, x, dy, dw, null);
            assertThat(dw.toArray()).containsExactly(ReferenceBackend.toFloats(edw));
        }
    }

    @Test
    void maxPoolThroughTensorsAndIndexBuffer() {
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 1, 4, 4, 2, 2);
        try (Tensor x = Tensor.of(new float[] {1, 5, 2, 0, 3, 4, 8, 7, 9, -1, 6, 6, 2, 0, 6, 5}, 1, 1, 4, 4);
             Tensor y = Tensor.zeros(1, 1, 2, 2).fill(Float.NaN);
             IndexBuffer idx = IndexBuffer.of(-1, -1, -1, -1);
             Tensor dy = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
             Tensor dx = Tensor.zeros(1, 1, 4, 4).fill(Float.NaN)) {
            backend.maxPool2dForward(g, x, y, idx);
            // worked in ReferenceMaxPoolKnownAnswerTest.plain2x2Stride2
            assertThat(y.toArray()).containsExactly(5, 8, 9, 6);
            assertThat(idx.toArray()).containsExactly(1, 6, 8, 10);
            backend.maxPool2dBackward(g, dy, idx, dx);
            assertThat(dx.toArray()).containsExactly(
                    0, 1, 0, 0,
                    0, 0, 2, 0,
                    3, 0, 4, 0,
                    0, 0, 0, 0);
            y.fill(0);
            backend.maxPool2dForward(g, x, y, null);
            assertThat(y.toArray()).containsExactly(5, 8, 9, 6);
        }
    }

    @Test
    void badIndexIsRejectedAndNamed() {
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 1, 2, 2, 2, 2);
        try (Tensor dy = Tensor.of(new float[] {1}, 1, 1, 1, 1);
             IndexBuffer idx = IndexBuffer.of(4);
             Tensor dx = Tensor.zeros(1, 1, 2, 2)) {
            assertThatThrownBy(() -> backend.maxPool2dBackward(g, dy, idx, dx))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("index 4");
        }
    }

    @Test
    void shapeMismatchesAreRejectedBeforeAnyWrite() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        try (Tensor x = Tensor.zeros(1, 1, 3, 3);
             Tensor wrongW = Tensor.zeros(1, 1, 3, 3);
             Tensor w = Tensor.zeros(1, 1, 2, 2);
             Tensor y = Tensor.zeros(1, 1, 2, 2).fill(-1);
             Tensor wrongBias = Tensor.zeros(2)) {
            assertThatThrownBy(() -> backend.conv2dForward(g, x, wrongW, null, y))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights");
            assertThatThrownBy(() -> backend.conv2dForward(g, x, w, wrongBias, y))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias");
            assertThatThrownBy(() -> backend.conv2dBackwardData(g, y, w, w))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("diffSrc");
            assertThat(y.toArray()).containsExactly(-1, -1, -1, -1);
        }
        MaxPool2dGeometry p = MaxPool2dGeometry.simple(1, 1, 2, 2, 2, 2);
        try (Tensor x = Tensor.zeros(1, 1, 2, 2);
             Tensor y = Tensor.zeros(1, 1, 1, 1);
             IndexBuffer wrongIdx = IndexBuffer.allocate(2)) {
            assertThatThrownBy(() -> backend.maxPool2dForward(p, x, y, wrongIdx))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("indices");
            assertThatThrownBy(() -> backend.maxPool2dBackward(p, y, null, x))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("indices");
        }
    }

    @Test
    void closedTensorsAndNullGeometryAreRejected() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 2, 2, 1, 1, 1);
        Tensor x = Tensor.zeros(1, 1, 2, 2);
        x.close();
        try (Tensor w = Tensor.zeros(1, 1, 1, 1); Tensor y = Tensor.zeros(1, 1, 2, 2)) {
            assertThatThrownBy(() -> backend.conv2dForward(g, x, w, null, y))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("src");
            assertThatThrownBy(() -> backend.conv2dForward(null, y, w, null, y))
                    .isInstanceOf(NullPointerException.class);
        }
    }

    @Test
    void worksOnArenaAllocatedTensors() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 2, 2, 2, 1, 1, 1);
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, 1, 2, 2, 2).copyFrom(new float[] {1, 2, 3, 4, 5, 6, 7, 8});
            Tensor w = Tensor.allocate(arena, 1, 2, 1, 1).copyFrom(new float[] {1, 10});
            Tensor y = Tensor.allocate(arena, 1, 1, 2, 2);
            backend.conv2dForward(g, x, w, null, y);
            assertThat(y.toArray()).containsExactly(51, 62, 73, 84); // ch0 + 10*ch1
        }
    }

    @Test
    void toDoublesWidensExactly() {
        try (Tensor t = Tensor.of(new float[] {0.1f, -3f, Float.MIN_VALUE}, 3)) {
            assertThat(ReferenceBackend.toDoubles(t)).containsExactly((double) 0.1f, -3.0, (double) Float.MIN_VALUE);
        }
    }

    private static float[] randomFloats(SplittableRandom rnd, long count) {
        float[] a = new float[Math.toIntExact(count)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble(-1, 1);
        }
        return a;
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
