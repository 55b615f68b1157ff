package io.github.panamacnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * An owned off-heap buffer of integer values, of one of two {@linkplain Kind kinds}:
 * <ul>
 * <li>{@link Kind#INT32}: one int32 per element. Class labels ({@link CrossEntropyLoss}), or a max-pooling
 *     mask of plane offsets: for each output element, the offset {@code iy*iw + ix} of its maximum inside
 *     its input plane ({@code pcnn_maxpool2d_fwd} / {@code _bwd}).</li>
 * <li>{@link Kind#TAPS}: one unsigned byte per element, a compact max-pooling mask: for each output element,
 *     its winner's window tap {@code ky*kw + kx} (row-major over the kernel window, padded taps included in
 *     the numbering; {@code pcnn_maxpool2d_fwd_taps} / {@code _bwd_taps}). A quarter of the int32 mask's
 *     bytes; needs {@code kh*kw <= }{@link MaxPool2dGeometry#MAX_MASK_TAPS}. {@link MaxPool2dGeometry#planeOffsets}
 *     turns it into plane offsets.</li>
 * </ul>
 * A max-pool backend call picks the C entry point by the mask's kind. {@link #get}, {@link #toArray} and
 * {@link #copyFrom} speak values (a tap reads as {@code 0..255}), whatever the kind.
 * {@link #close()} frees the buffer; any later use throws {@link IllegalStateException}. A buffer made by
 * {@link #wrap} borrows the caller's segment: {@code close()} marks it closed and the caller keeps the memory.
 */
public final class IndexBuffer implements AutoCloseable {

    /** What one element is. */
    public enum Kind {
        /** An int32 (a plane offset or a label), 4 bytes. */
        INT32(Integer.BYTES, "int32 values"),
        /** An unsigned byte: a max-pool window tap {@code ky*kw + kx}. */
        TAPS(Byte.BYTES, "uint8 max-pool taps");

        private final int bytes;
        private final String plural;

        Kind(int bytes, String plural) {
            this.bytes = bytes;
            this.plural = plural;
        }

        /** Bytes per element: 4 or 1. */
        public int bytesPerElement() {
            return bytes;
        }

        @Override
        public String toString() {
            return plural;
        }
    }

    private final Arena arena; // null when the memory belongs to the caller
    private final MemorySegment segment;
    private final long length;
    private final Kind kind;
    private volatile boolean closed;

    private IndexBuffer(MemorySegment borrowed, long length, Kind kind) {
        this.length = length;
        this.kind = kind;
        this.arena = null;
        this.segment = borrowed;
    }

    private IndexBuffer(long length, Kind kind) {
        this.length = length;
        this.kind = kind;
        this.arena = Arena.ofShared();
        try {
            this.segment = arena.allocate(Conv2dGeometry.mulExact("index buffer bytes", length, kind.bytes),
                    64);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A zero-filled buffer of {@code length} int32 values ({@link Kind#INT32}). */
    public static IndexBuffer allocate(long length) {
        return allocate(length, Kind.INT32);
    }

    /** A zero-filled buffer of {@code length} elements of the given kind. */
    public static IndexBuffer allocate(long length, Kind kind) {
        Objects.requireNonNull(kind, "kind");
        Conv2dGeometry.positive("index buffer length", length);
        return new IndexBuffer(length, kind);
    }

    /**
     * Views the caller's segment as a buffer of {@code segment.byteSize() / kind.bytesPerElement()} elements,
     * without copying; it stays the caller's memory. The segment must be native, writable, non-empty, a whole
     * number of elements and aligned to the element size (taps: any address).
     */
    public static IndexBuffer wrap(MemorySegment segment, Kind kind) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(kind, "kind");
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment must be off-heap (native); heap segments cannot be passed "
                    + "to native kernels");
        }
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException("segment is read-only");
        }
        if (segment.byteSize() == 0 || segment.byteSize() % kind.bytes != 0) {
            throw new IllegalArgumentException("segment has " + segment.byteSize() + " bytes, not a positive whole "
                    + "number of " + kind.bytes + "-byte elements");
        }
        if (segment.address() % kind.bytes != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(segment.address())
                    + " is not " + kind.bytes + "-byte aligned");
        }
        return new IndexBuffer(segment, segment.byteSize() / kind.bytes, kind);
    }

    /** A new int32 buffer holding a copy of {@code values}. */
    public static IndexBuffer of(int... values) {
        return of(Kind.INT32, values);
    }

    /**
     * A new buffer of the given kind holding a copy of {@code values}.
     *
     * @throws IllegalArgumentException when {@code kind} is {@link Kind#TAPS} and a value is outside {@code [0, 255]}
     */
    public static IndexBuffer of(Kind kind, int... values) {
        Objects.requireNonNull(values, "values");
        IndexBuffer b = allocate(values.length, kind);
        try {
            b.copyFrom(values);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    public long length() {
        return length;
    }

    /** What each element is. */
    public Kind kind() {
        return kind;
    }

    /** The memory: {@code length() * kind().bytesPerElement()} bytes, valid until {@link #close()}. */
    public MemorySegment segment() {
        checkOpen("index buffer");
        return segment;
    }

    /** Element {@code i}; a tap reads as {@code 0..255}. */
    public int get(long i) {
        checkOpen("index buffer");
        Objects.checkIndex(i, length);
        return kind == Kind.INT32 ? segment.getAtIndex(ValueLayout.JAVA_INT, i)
                : Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, i));
    }

    /** A copy of the contents as values (taps as {@code 0..255}). */
    public int[] toArray() {
        checkOpen("index buffer");
        if (kind == Kind.INT32) {
            return segment.toArray(ValueLayout.JAVA_INT);
        }
        byte[] bytes = segment.toArray(ValueLayout.JAVA_BYTE);
        int[] values = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            values[i] = Byte.toUnsignedInt(bytes[i]);
        }
        return values;
    }

    /**
     * Overwrites the contents with {@code values} ({@code length()} of them).
     *
     * @throws IllegalArgumentException for a wrong count, or (taps) a value outside {@code [0, 255]}; nothing is
     *         written then
     */
    public void copyFrom(int[] values) {
        Objects.requireNonNull(values, "values");
        checkOpen("index buffer");
        if (values.length != length) {
            throw new IllegalArgumentException("index buffer holds " + length + " " + kind + " but " + values.length
                    + " values were given");
        }
        if (kind == Kind.INT32) {
            MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_INT, 0, values.length);
            return;
        }
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] > 255) {
                throw new IllegalArgumentException("tap value " + values[i] + " at [" + i
                        + "] does not fit an unsigned byte [0, 255]");
            }
        }
        for (int i = 0; i < values.length; i++) {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) values[i]);
        }
    }

    /** Throws unless the buffer is open, of kind {@link Kind#INT32} and holds exactly {@code expectedLength} values. */
    public void check(String name, long expectedLength) {
        check(name, Kind.INT32, expectedLength);
    }

    /** Throws unless the buffer is open, of kind {@code expectedKind} and holds exactly {@code expectedLength} values. */
    public void check(String name, Kind expectedKind, long expectedLength) {
        checkOpen(name);
        if (kind != expectedKind) {
            throw new IllegalArgumentException(name + " holds " + kind + " but this operation needs " + expectedKind);
        }
        checkLength(name, expectedLength);
    }

    /** Throws unless the buffer is open and holds exactly {@code expectedLength} values, of either kind. */
    public void checkLength(String name, long expectedLength) {
        checkOpen(name);
        if (length != expectedLength) {
            throw new IllegalArgumentException(name + " holds " + length + " " + kind + " but this operation needs "
                    + expectedLength);
        }
    }

    private void checkOpen(String name) {
        if (closed) {
            throw new IllegalStateException(name + " (" + length + " " + kind + ") is closed");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(name + " (" + length + " " + kind + "): its memory has been freed (the "
                    + "arena that owned it is closed)");
        }
    }

    /** Frees the memory. Idempotent; throws {@link IllegalStateException} (and stays open) while a native kernel
     *  on another thread is using it, like {@link Tensor#close()}. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (arena == null) {
                return; // borrowed: the caller keeps the memory
            }
            try {
                arena.close();
            } catch (IllegalStateException inUse) {
                closed = false;
                throw new IllegalStateException("index buffer (" + length + " " + kind + ") cannot be closed: a "
                        + "native kernel is using its memory (a call on another thread); close it after that call "
                        + "has returned", inUse);
            }
        }
    }

    @Override
    public String toString() {
        return "IndexBuffer[" + length + " " + kind + (closed ? ", closed" : "") + "]";
    }
}
