package io.github.panamacnn;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The NumPy {@code .npy} format (numpy/lib/format.py, versions 1.0, 2.0 and 3.0): a magic string,
 * a version, a little-endian header length, then a Python dict literal
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} padded with spaces to a
 * multiple of 64 bytes and ended by a newline, then the raw C-order data.
 *
 * <p>Reading yields a float32 {@link Tensor}. Strict mode accepts only little-endian float32
 * ({@code '<f4'}); converting mode also takes float16/64, signed and unsigned 8-64 bit integers and
 * bool in either byte order, rounding each value to the nearest float (large integers and doubles
 * lose precision; doubles beyond the float range become infinities).
 */
final class NpyFormat {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int CHUNK = 1 << 20; // a multiple of every item size
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private NpyFormat() {
    }

    /** A parsed header: dtype, shape. */
    record Header(String descr, long[] shape, long byteLength) {
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads one array from {@code in} (positioned at the magic string) and checks that exactly its data
     * follows. {@code where} names the file (and entry) in messages; {@code totalBytes} is the size of the
     * whole .npy when known (else -1), so a truncated file is reported before any memory is allocated.
     */
    static Tensor read(InputStream in, boolean convert, String where, long totalBytes) throws IOException {
        Header h = readHeader(in, where);
        Dtype dt = Dtype.parse(h.descr(), where);
        if (!convert && !dt.isLittleEndianFloat32()) {
            throw new NpyFormatException(where + ": dtype '" + h.descr() + "' (" + dt.describe()
                    + ") is not little-endian float32 ('<f4'); convert explicitly with Npz.readConverting / "
                    + "Tensor.loadNpyConverting, or save float32 from NumPy (a.astype(numpy.float32))");
        }
        long count = 1;
        long bytes;
        try {
            for (long d : h.shape()) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, dt.size);
        } catch (ArithmeticException e) {
            throw new NpyFormatException(where + ": shape " + Arrays.toString(h.shape()) + " is too large");
        }
        if (totalBytes >= 0 && totalBytes - h.byteLength() < bytes) {
            throw new NpyFormatException(where + ": truncated: shape " + Arrays.toString(h.shape()) + " of '"
                    + h.descr() + "' needs " + bytes + " bytes of data but the file holds only "
                    + Math.max(0, totalBytes - h.byteLength()));
        }
        Tensor t = Tensor.zeros(h.shape());
        try {
            readData(in, t.segment(), count, dt, where, bytes);
            if (in.read() != -1) {
                throw new NpyFormatException(where + ": data continues after the " + bytes + " bytes that shape "
                        + Arrays.toString(h.shape()) + " of '" + h.descr() + "' needs (a corrupt or non-npy file)");
            }
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private static void readData(InputStream in, MemorySegment dst, long count, Dtype dt, String where, long bytes)
            throws IOException {
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(bytes, 1))];
        MemorySegment bufSeg = MemorySegment.ofArray(buf);
        ByteBuffer bb = ByteBuffer.wrap(buf).order(dt.order);
        long done = 0; // elements
        while (done < count) {
            int n = (int) Math.min(count - done, buf.length / dt.size);
            int want = n * dt.size;
            int got = in.readNBytes(buf, 0, want);
            if (got < want) {
                throw new NpyFormatException(where + ": truncated: shape and dtype need " + bytes
                        + " bytes of data but the file holds only " + (done * dt.size + got));
            }
            if (dt.kind == 'f' && dt.size == 4) {
                ValueLayout.OfFloat src = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(dt.order);
                MemorySegment.copy(bufSeg, src, 0, dst, ValueLayout.JAVA_FLOAT, done * Float.BYTES, n);
            } else {
                for (int i = 0; i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, done + i, dt.toFloat(bb, i * dt.size));
                }
            }
            done += n;
        }
    }

    static Header readHeader(InputStream in, String where) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || !Arrays.equals(Arrays.copyOf(magic, 6), MAGIC)) {
            throw new NpyFormatException(where + ": not a .npy file (it does not start with \\x93NUMPY)");
        }
        int major = magic[6] & 0xff;
        int minor = magic[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0) {
            throw new NpyFormatException(where + ": unsupported .npy format version " + major + "." + minor
                    + " (1.0, 2.0 and 3.0 are known)");
        }
        int lenBytes = major == 1 ? 2 : 4;
        byte[] len = in.readNBytes(lenBytes);
        if (len.length < lenBytes) {
            throw new NpyFormatException(where + ": truncated in the header length");
        }
        long headerLen = major == 1 ? (len[0] & 0xff) | (len[1] & 0xff) << 8
                : ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
        if (headerLen > 1 << 20) {
            throw new NpyFormatException(where + ": header length " + headerLen + " is implausibly large");
        }
        byte[] header = in.readNBytes((int) headerLen);
        if (header.length < headerLen) {
            throw new NpyFormatException(where + ": truncated in the header (" + header.length + " of " + headerLen
                    + " bytes)");
        }
        String text = new String(header, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Header h = parseHeader(text.strip(), where);
        return new Header(h.descr(), h.shape(), 8 + lenBytes + headerLen);
    }

    /** Parses the header dict; requires the keys descr, fortran_order (False) and shape (>= 1 dims, each >= 1). */
    static Header parseHeader(String text, String where) throws NpyFormatException {
        Map<String, Object> dict = new DictParser(text, where).parseDict();
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(key)) {
                throw new NpyFormatException(where + ": bad header: no '" + key + "' in " + text);
            }
        }
        if (!(dict.get("descr") instanceof String descr)) {
            Object d = dict.get("descr");
            throw new NpyFormatException(where + ": bad header: 'descr' is "
                    + (d instanceof StructuredDescr sd ? sd.text() + ", a structured dtype" : String.valueOf(d))
                    + "; only plain numeric arrays are supported");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw new NpyFormatException(where + ": bad header: 'fortran_order' is not True/False in " + text);
        }
        if (fortran) {
            throw new NpyFormatException(where + ": array is in Fortran (column-major) order; only C order is "
                    + "supported (save numpy.ascontiguousarray(a) instead)");
        }
        if (!(dict.get("shape") instanceof long[] shape)) {
            throw new NpyFormatException(where + ": bad header: 'shape' is not a tuple of integers in " + text);
        }
        if (shape.length == 0) {
            throw new NpyFormatException(where + ": shape () is a 0-d (scalar) array; a Tensor needs at least one "
                    + "dimension (save numpy.atleast_1d(a))");
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new NpyFormatException(where + ": shape " + Arrays.toString(shape) + " has dimension " + i
                        + " = " + shape[i] + "; a Tensor needs every dimension >= 1");
            }
        }
        return new Header(descr, shape, -1);
    }

    /** A list-valued descr (a structured dtype), kept only to name it in the message. */
    private record StructuredDescr(String text) {
    }

    /** The few Python literals a .npy header holds: a dict of str keys to str, bool, int tuples (or a list). */
    private static final class DictParser {
        private final String s;
        private final String where;
        private int pos;

        DictParser(String s, String where) {
            this.s = s;
            this.where = where;
        }

        Map<String, Object> parseDict() throws NpyFormatException {
            Map<String, Object> m = new LinkedHashMap<>();
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                String key = parseString();
                expect(':');
                m.put(key, parseValue());
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            skipSpace();
            if (pos != s.length()) {
                throw error("unexpected text after the dict");
            }
            return m;
        }

        private Object parseValue() throws NpyFormatException {
            skipSpace();
            char c = peek();
            if (c == '\'' || c == '"') {
                return parseString();
            }
            if (s.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (c == '(') {
                return parseIntTuple();
            }
            if (c == '[') { // a structured dtype: report it, do not interpret it
                int depth = 0;
                int start = pos;
                do {
                    char d = peek();
                    depth += d == '[' ? 1 : d == ']' ? -1 : 0;
                    pos++;
                } while (depth > 0);
                return new StructuredDescr(s.substring(start, pos));
            }
            throw error("unexpected value");
        }

        private long[] parseIntTuple() throws NpyFormatException {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                int start = pos;
                while (pos < s.length() && (Character.isDigit(s.charAt(pos)) || s.charAt(pos) == '-')) {
                    pos++;
                }
                if (start == pos) {
                    throw error("expected an integer in the shape");
                }
                try {
                    dims.add(Long.parseLong(s.substring(start, pos)));
                } catch (NumberFormatException e) {
                    throw error("bad integer " + s.substring(start, pos));
                }
                if (pos < s.length() && s.charAt(pos) == 'L') { // Python 2 long literal
                    pos++;
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape");
                }
            }
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private String parseString() throws NpyFormatException {
            skipSpace();
            char q = peek();
            if (q != '\'' && q != '"') {
                throw error("expected a quoted string");
            }
            int end = s.indexOf(q, pos + 1);
            if (end < 0) {
                throw error("unterminated string");
            }
            String r = s.substring(pos + 1, end);
            pos = end + 1;
            return r;
        }

        private void expect(char c) throws NpyFormatException {
            skipSpace();
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        private char peek() throws NpyFormatException {
            if (pos >= s.length()) {
                throw error("the header ends too early");
            }
            return s.charAt(pos);
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        private NpyFormatException error(String what) {
            return new NpyFormatException(where + ": bad header at character " + pos + ": " + what + " in \"" + s
                    + "\"");
        }
    }

    /** A numeric dtype: kind (f, i, u, b), item size, byte order. */
    private record Dtype(char kind, int size, ByteOrder order, String descr) {
        static Dtype parse(String descr, String where) throws NpyFormatException {
            if (descr.length() >= 3) {
                char o = descr.charAt(0);
                char kind = descr.charAt(1);
                int size;
                try {
                    size = Integer.parseInt(descr.substring(2));
                } catch (NumberFormatException e) {
                    size = -1;
                }
                ByteOrder order = o == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
                boolean orderOk = o == '<' || o == '>' || o == '|' || o == '=';
                if (o == '=') {
                    order = ByteOrder.nativeOrder();
                }
                boolean known = switch (kind) {
                    case 'f' -> size == 2 || size == 4 || size == 8;
                    case 'i', 'u' -> size == 1 || size == 2 || size == 4 || size == 8;
                    case 'b' -> size == 1;
                    default -> false;
                };
                if (orderOk && known) {
                    return new Dtype(kind, size, order, descr);
                }
            }
            throw new NpyFormatException(where + ": unsupported dtype '" + descr + "' (readable: float16/32/64, "
                    + "int8-64, uint8-64, bool)");
        }

        boolean isLittleEndianFloat32() {
            return kind == 'f' && size == 4 && order == ByteOrder.LITTLE_ENDIAN;
        }

        String describe() {
            String name = switch (kind) {
                case 'f' -> "float" + size * 8;
                case 'i' -> "int" + size * 8;
                case 'u' -> "uint" + size * 8;
                default -> "bool";
            };
            return size > 1 ? name + (order == ByteOrder.BIG_ENDIAN ? ", big-endian" : ", little-endian") : name;
        }

        float toFloat(ByteBuffer b, int off) {
            return switch (kind) {
                case 'f' -> switch (size) {
                    case 2 -> Float.float16ToFloat(b.getShort(off));
                    case 4 -> b.getFloat(off);
                    default -> (float) b.getDouble(off);
                };
                case 'i' -> switch (size) {
                    case 1 -> b.get(off);
                    case 2 -> b.getShort(off);
                    case 4 -> (float) b.getInt(off);
                    default -> (float) b.getLong(off);
                };
                case 'u' -> switch (size) {
                    case 1 -> b.get(off) & 0xff;
                    case 2 -> b.getShort(off) & 0xffff;
                    case 4 -> (float) (b.getInt(off) & 0xffffffffL);
                    default -> unsignedLongToFloat(b.getLong(off));
                };
                default -> b.get(off) != 0 ? 1.0f : 0.0f;
            };
        }

        private static float unsignedLongToFloat(long v) {
            if (v >= 0) {
                return (float) v;
            }
            // >= 2^63: halve (keeping the sticky bit for correct rounding), convert, double
            return 2.0f * (float) ((v >>> 1) | (v & 1));
        }
    }

    // ------------------------------------------------------------------ writing

    /** The header bytes (magic, version, length, padded dict) for a little-endian float32 array of {@code shape}. */
    static byte[] header(long[] shape) {
        StringBuilder dims = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            dims.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        dims.append(shape.length == 1 ? ",)" : ")");
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + ", }";
        int version = 1;
        int prefix = 10; // magic 6 + version 2 + length 2
        if (dict.length() + 1 + prefix + 64 > 65535) {
            version = 2;
            prefix = 12;
        }
        int total = prefix + dict.length() + 1;
        int padded = (total + 63) / 64 * 64; // numpy aligns the data to 64 bytes
        int headerLen = padded - prefix;
        byte[] out = new byte[padded];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[6] = (byte) version;
        out[7] = 0;
        ByteBuffer bb = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        if (version == 1) {
            bb.putShort(8, (short) headerLen);
        } else {
            bb.putInt(8, headerLen);
        }
        byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(text, 0, out, prefix, text.length);
        Arrays.fill(out, prefix + text.length, padded - 1, (byte) ' ');
        out[padded - 1] = '\n';
        return out;
    }

    /** Writes {@code t} as a .npy (little-endian float32, C order) to {@code out}. */
    static void write(Tensor t, OutputStream out) throws IOException {
        t.checkAlive("tensor");
        out.write(header(t.shape()));
        MemorySegment seg = t.segment();
        long count = t.elementCount();
        byte[] buf = new byte[(int) Math.min(CHUNK, count * Float.BYTES)];
        MemorySegment bufSeg = MemorySegment.ofArray(buf);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(count - done, buf.length / Float.BYTES);
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, done * Float.BYTES, bufSeg, LE_FLOAT, 0, n);
            out.write(buf, 0, n * Float.BYTES);
            done += n;
        }
    }

    /** Total bytes {@link #write} produces for {@code t}. */
    static long byteSize(Tensor t) {
        return header(t.shape()).length + t.elementCount() * Float.BYTES;
    }
}
