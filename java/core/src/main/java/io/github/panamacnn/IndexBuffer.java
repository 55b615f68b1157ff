package io.github.panamacnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * An owned off-heap buffer of int32 values: the max-pooling mask (for each output element,
 * the offset {@code iy*iw + ix} of its maximum inside its input plane).
 * {@link #close()} frees it; any later use throws {@link IllegalStateException}.
 */
public final class IndexBuffer implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;
    private final long length;
    private volatile boolean closed;

    private IndexBuffer(long length) {
        this.length = length;
        this.arena = Arena.ofShared();
        try {
            this.segment = arena.allocate(Conv2dGeometry.mulExact("index buffer bytes", length, Integer.BYTES), 64);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A zero-filled buffer of {@code length} int32 values. */
    public static IndexBuffer allocate(long length) {
        Conv2dGeometry.positive("index buffer length", length);
        return new IndexBuffer(length);
    }

    /** A new buffer holding a copy of {@code values}. */
    public static IndexBuffer of(int... values) {
        Objects.requireNonNull(values, "values");
        IndexBuffer b = allocate(values.length);
        MemorySegment.copy(values, 0, b.segment, ValueLayout.JAVA_INT, 0, values.length);
        return b;
    }

    public long length() {
        return length;
    }

    /** The memory: {@code 4 * length()} bytes, valid until {@link #close()}. */
    public MemorySegment segment() {
        check("index buffer", length);
        return segment;
    }

    public int get(long i) {
        check("index buffer", length);
        Objects.checkIndex(i, length);
        return segment.getAtIndex(ValueLayout.JAVA_INT, i);
    }

    /** A copy of the contents. */
    public int[] toArray() {
        check("index buffer", length);
        return segment.toArray(ValueLayout.JAVA_INT);
    }

    /** Throws unless the buffer is open and holds exactly {@code expectedLength} values. */
    public void check(String name, long expectedLength) {
        if (closed) {
            throw new IllegalStateException(name + " (" + length + " int32 values) is closed");
        }
        if (length != expectedLength) {
            throw new IllegalArgumentException(name + " holds " + length + " int32 values but this operation needs "
                    + expectedLength);
        }
    }

    /** Frees the memory. Idempotent; throws {@link IllegalStateException} (and stays open) while a native kernel
     *  on another thread is using it, like {@link Tensor#close()}. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                arena.close();
            } catch (IllegalStateException inUse) {
                closed = false;
                throw new IllegalStateException("index buffer (" + length + " int32 values) cannot be closed: a "
                        + "native kernel is using its memory (a call on another thread); close it after that call "
                        + "has returned", inUse);
            }
        }
    }
}
