package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy / .npz: round trips, files written and read by real NumPy, and bad files. */
class NpzTest {
    @TempDir
    Path dir;

    /** The value at flat index i of every test array: exact in float32, also computable in NumPy. */
    private static float formula(long i) {
        return (i % 97) * 0.25f - 7.5f;
    }

    private static Tensor formulaTensor(long... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.set(i, formula(i));
        }
        return t;
    }

    private static void assertFormula(Tensor t, long... shape) {
        assertThat(t.shape()).isEqualTo(shape);
        for (long i = 0; i < t.elementCount(); i++) {
            if (t.get(i) != formula(i)) {
                throw new AssertionError("element " + i + " of " + Arrays.toString(shape) + ": " + t.get(i)
                        + " != " + formula(i));
            }
        }
    }

    private static Map<String, Tensor> lenetLike() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("0.weight", formulaTensor(6, 1, 5, 5));
        m.put("0.bias", formulaTensor(6));
        m.put("7.weight", formulaTensor(120, 400));
        m.put("x", formulaTensor(2, 3));
        return m;
    }

    // ------------------------------------------------------------------ round trips

    @Test
    void npzRoundTripKeepsOrderShapesAndBits() throws IOException {
        for (boolean compressed : new boolean[] {false, true}) {
            Map<String, Tensor> in = lenetLike();
            in.get("x").set(0, Float.NaN);
            in.get("x").set(1, Float.NEGATIVE_INFINITY);
            in.get("x").set(2, -0.0f);
            in.get("x").set(3, Float.MIN_VALUE);
            Path f = dir.resolve(compressed ? "c.npz" : "s.npz");
            if (compressed) {
                Npz.writeCompressed(f, in);
            } else {
                Npz.write(f, in);
            }
            Map<String, Tensor> out = Npz.read(f);
            try {
                assertThat(out.keySet()).containsExactly("0.weight", "0.bias", "7.weight", "x");
                for (String k : in.keySet()) {
                    assertThat(out.get(k).shape()).as(k).isEqualTo(in.get(k).shape());
                    float[] a = in.get(k).toArray();
                    float[] b = out.get(k).toArray();
                    for (int i = 0; i < a.length; i++) {
                        assertThat(Float.floatToRawIntBits(b[i])).as("%s[%d]", k, i)
                                .isEqualTo(Float.floatToRawIntBits(a[i]));
                    }
                }
            } finally {
                in.values().forEach(Tensor::close);
                out.values().forEach(Tensor::close);
            }
        }
    }

    @Test
    void npyRoundTripAndHeaderIsNumpyShaped() throws IOException {
        Path f = dir.resolve("a.npy");
        try (Tensor t = formulaTensor(3, 1, 7)) {
            t.saveNpy(f);
        }
        byte[] bytes = Files.readAllBytes(f);
        int headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        assertThat((10 + headerLen) % 64).as("data offset aligned to 64 like numpy").isZero();
        String header = new String(bytes, 10, headerLen, StandardCharsets.ISO_8859_1);
        assertThat(header).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 7), }").endsWith("\n");
        assertThat(bytes.length).isEqualTo(10 + headerLen + 21 * 4);
        try (Tensor back = Tensor.loadNpy(f)) {
            assertFormula(back, 3, 1, 7);
        }
        try (Tensor t = formulaTensor(5)) {
            t.saveNpy(f);
        }
        assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).contains("'shape': (5,), }");
    }

    // ------------------------------------------------------------------ real NumPy

    @Test
    void readsWhatNumpyWritesAndNumpyReadsWhatWeWrite() throws Exception {
        PythonSupport.assumeModule("numpy");
        try (Tensor t = formulaTensor(4, 3, 2)) {
            t.saveNpy(dir.resolve("ours.npy"));
        }
        Map<String, Tensor> ours = lenetLike();
        Npz.write(dir.resolve("ours.npz"), ours);
        Npz.writeCompressed(dir.resolve("ours_c.npz"), ours);
        ours.values().forEach(Tensor::close);
        String out = PythonSupport.runScript("""
                import numpy as np
                def f(shape, dtype=np.float32):
                    n = int(np.prod(shape))
                    return ((np.arange(n) % 97) * np.float32(0.25) - np.float32(7.5)).astype(dtype).reshape(shape)
                # read ours
                a = np.load('ours.npy')
                assert a.dtype == np.float32 and a.shape == (4, 3, 2) and np.array_equal(a, f((4, 3, 2))), a
                for name in ('ours.npz', 'ours_c.npz'):
                    z = np.load(name)
                    assert list(z.keys()) == ['0.weight', '0.bias', '7.weight', 'x'], list(z.keys())
                    for k, shape in (('0.weight', (6, 1, 5, 5)), ('0.bias', (6,)), ('7.weight', (120, 400)), ('x', (2, 3))):
                        assert z[k].dtype == np.float32 and np.array_equal(z[k], f(shape)), k
                # write for us
                np.save('np.npy', f((2, 5, 3)))
                arrays = {'0.weight': f((6, 1, 5, 5)), '0.bias': f((6,)), 'big': f((300, 500))}
                np.savez('np.npz', **arrays)
                np.savez_compressed('np_c.npz', **arrays)
                np.save('f64.npy', f((3, 4), np.float64))
                np.save('i64.npy', np.arange(-5, 7, dtype=np.int64).reshape(3, 4))
                np.save('u8.npy', np.arange(250, 256, dtype=np.uint8))
                np.save('f16.npy', np.array([0.5, -2.0, 65504.0], dtype=np.float16))
                np.save('bool.npy', np.array([True, False, True]))
                np.save('be.npy', f((2, 3)).astype('>f4'))
                np.save('fortran.npy', np.asfortranarray(f((3, 4))))
                np.save('scalar.npy', np.float32(1.5))
                np.save('empty.npy', np.zeros((0, 3), dtype=np.float32))
                np.savez('mixed.npz', w=f((2, 2)), d=f((2, 2), np.float64))
                print('numpy', np.__version__, 'ok')
                """, dir);
        assertThat(out).contains("ok");

        try (Tensor a = Tensor.loadNpy(dir.resolve("np.npy"))) {
            assertFormula(a, 2, 5, 3);
        }
        for (String name : List.of("np.npz", "np_c.npz")) {
            Map<String, Tensor> m = Npz.read(dir.resolve(name));
            try {
                assertThat(m.keySet()).as(name).containsExactly("0.weight", "0.bias", "big");
                assertFormula(m.get("0.weight"), 6, 1, 5, 5);
                assertFormula(m.get("0.bias"), 6);
                assertFormula(m.get("big"), 300, 500);
            } finally {
                m.values().forEach(Tensor::close);
            }
        }

        // other dtypes: strict read names the dtype, converting read converts
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("f64.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("f64.npy").hasMessageContaining("'<f8'").hasMessageContaining("float64")
                .hasMessageContaining("loadNpyConverting");
        try (Tensor d = Tensor.loadNpyConverting(dir.resolve("f64.npy"))) {
            assertFormula(d, 3, 4);
        }
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("i64.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("'<i8'").hasMessageContaining("int64");
        try (Tensor i = Tensor.loadNpyConverting(dir.resolve("i64.npy"))) {
            assertThat(i.shape()).isEqualTo(new long[] {3, 4});
            assertThat(i.toArray()).containsExactly(-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6);
        }
        try (Tensor u = Tensor.loadNpyConverting(dir.resolve("u8.npy"))) {
            assertThat(u.toArray()).containsExactly(250, 251, 252, 253, 254, 255);
        }
        try (Tensor h = Tensor.loadNpyConverting(dir.resolve("f16.npy"))) {
            assertThat(h.toArray()).containsExactly(0.5f, -2.0f, 65504.0f);
        }
        try (Tensor b = Tensor.loadNpyConverting(dir.resolve("bool.npy"))) {
            assertThat(b.toArray()).containsExactly(1f, 0f, 1f);
        }
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("be.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("'>f4'").hasMessageContaining("big-endian");
        try (Tensor be = Tensor.loadNpyConverting(dir.resolve("be.npy"))) {
            assertFormula(be, 2, 3);
        }
        assertThatThrownBy(() -> Tensor.loadNpyConverting(dir.resolve("fortran.npy")))
                .isInstanceOf(NpyFormatException.class).hasMessageContaining("Fortran");
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("scalar.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("0-d");
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("empty.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("[0, 3]").hasMessageContaining("dimension 0 = 0");
        assertThatThrownBy(() -> Npz.read(dir.resolve("mixed.npz"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("entry 'd.npy'").hasMessageContaining("float64");
        Map<String, Tensor> mixed = Npz.readConverting(dir.resolve("mixed.npz"));
        assertThat(mixed.keySet()).containsExactly("w", "d");
        assertFormula(mixed.get("d"), 2, 2);
        mixed.values().forEach(Tensor::close);
    }

    // ------------------------------------------------------------------ bad files

    private static byte[] npyBytes(Tensor t) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpyFormat.write(t, out);
        return out.toByteArray();
    }

    private static byte[] withHeader(String dict, int dataBytes) {
        int total = 10 + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        ByteBuffer b = ByteBuffer.allocate(padded + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.putShort((short) (padded - 10));
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        while (b.position() < padded - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    @Test
    void badNpyFilesGiveClearExceptions() throws IOException {
        byte[] good;
        try (Tensor t = formulaTensor(2, 3, 4)) {
            good = npyBytes(t);
        }
        Path f = dir.resolve("bad.npy");
        Files.write(f, Arrays.copyOf(good, good.length - 5));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("bad.npy").hasMessageContaining("truncated").hasMessageContaining("96 bytes")
                .hasMessageContaining("holds only 91");
        Files.write(f, Arrays.copyOf(good, 30));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("truncated in the header");
        Files.write(f, Arrays.copyOf(good, good.length + 4));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("data continues");
        Files.writeString(f, "hello, not numpy");
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("not a .npy file");
        byte[] v9 = good.clone();
        v9[6] = 9;
        Files.write(f, v9);
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("version 9.0");

        Files.write(f, withHeader("{'descr': '<f4', 'fortran_order': False, }", 0));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("no 'shape'");
        Files.write(f, withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 0));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("bad header");
        Files.write(f, withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16));
        assertThatThrownBy(() -> Tensor.loadNpyConverting(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("unsupported dtype '<c8'");
        Files.write(f, withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("structured dtype");
        // a huge claimed shape is reported as truncated before anything is allocated
        Files.write(f, withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100), }", 8));
        assertThatThrownBy(() -> Tensor.loadNpy(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("truncated");
        // spacing, key order and double quotes as other writers produce them
        byte[] odd = withHeader("{\"shape\":(2,2),\"fortran_order\":False,\"descr\":\"<f4\"}", 16);
        Files.write(f, odd);
        try (Tensor t = Tensor.loadNpy(f)) {
            assertThat(t.shape()).isEqualTo(new long[] {2, 2});
        }
        assertThatThrownBy(() -> Tensor.loadNpy(dir.resolve("missing.npy"))).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void badNpzFilesGiveClearExceptionsAndLeakNothing() throws IOException {
        Path good = dir.resolve("good.npz");
        Map<String, Tensor> m = lenetLike();
        Npz.write(good, m);
        m.values().forEach(Tensor::close);
        byte[] bytes = Files.readAllBytes(good);
        Path f = dir.resolve("bad.npz");
        Files.write(f, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> Npz.read(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("bad.npz").hasMessageContaining("not a readable .npz");
        Files.writeString(f, "not a zip at all");
        assertThatThrownBy(() -> Npz.read(f)).isInstanceOf(NpyFormatException.class);
        assertThatThrownBy(() -> Npz.read(dir.resolve("nope.npz"))).isInstanceOf(NoSuchFileException.class);

        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("a.npy"));
            try (Tensor t = formulaTensor(3)) {
                z.write(npyBytes(t));
            }
            z.closeEntry();
            z.putNextEntry(new ZipEntry("readme.txt"));
            z.write("hi".getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
        }
        assertThatThrownBy(() -> Npz.read(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("entry 'readme.txt' is not a .npy array");

        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("a.npy"));
            try (Tensor t = formulaTensor(3, 3)) {
                byte[] b = npyBytes(t);
                z.write(b, 0, b.length - 8);
            }
            z.closeEntry();
        }
        assertThatThrownBy(() -> Npz.read(f)).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("entry 'a.npy'").hasMessageContaining("truncated");
    }

    @Test
    void writeRejectsBadArgumentsAndKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("keep.npz");
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("a", formulaTensor(2));
        Npz.write(f, m);
        byte[] before = Files.readAllBytes(f);
        Tensor closed = formulaTensor(3);
        closed.close();
        m.put("b", closed);
        assertThatThrownBy(() -> Npz.write(f, m)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("array 'b'");
        m.remove("b");
        m.put("", formulaTensor(1));
        assertThatThrownBy(() -> Npz.write(f, m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-empty");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        try (var s = Files.list(dir)) {
            assertThat(s.filter(p -> p.toString().endsWith(".tmp")).count()).as("temp files left").isZero();
        }
        m.values().forEach(Tensor::close);
    }
}
