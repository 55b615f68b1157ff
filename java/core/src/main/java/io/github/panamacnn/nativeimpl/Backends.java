package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Backend;
import io.github.panamacnn.reference.ReferenceBackend;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Creates the backends behind {@link Backend}'s static methods and implements the selection by the
 * system property {@value #BACKEND_PROPERTY}: {@code auto} (default), {@code native},
 * {@code reference} or {@code checked}. {@code auto} means native when the library loads, else one
 * warning per JVM (why, and what to do) and the reference backend; when the system property
 * {@value #NATIVE_REQUIRED_PROPERTY} is {@code true}, {@code auto} throws instead of falling back.
 */
public final class Backends {
    /** Selects the default backend: auto | native | reference | checked. */
    public static final String BACKEND_PROPERTY = "panamacnn.backend";
    /** When {@code true}, the default backend never falls back to the reference. */
    public static final String NATIVE_REQUIRED_PROPERTY = "panamacnn.native.required";

    static final String ALLOWED = "auto, native, reference, checked";

    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static final System.Logger LOG = System.getLogger("io.github.panamacnn");

    private Backends() {
    }

    /** The C kernels (a singleton); throws {@link IllegalStateException} with the reason when the library cannot load. */
    public static Backend nativeBackend() {
        return NativeBackend.instance();
    }

    /** A new pure-Java reference backend. */
    public static Backend reference() {
        return new ReferenceBackend();
    }

    /** A backend that runs native and reference and compares; needs the native library. */
    public static Backend checked() {
        return new CheckedBackend(nativeBackend());
    }

    /** The backend named by {@value #BACKEND_PROPERTY} (see the class comment). */
    public static Backend defaultBackend() {
        return select(System.getProperty(BACKEND_PROPERTY),
                Boolean.parseBoolean(System.getProperty(NATIVE_REQUIRED_PROPERTY)),
                NativeLibrary::isAvailable, NativeLibrary::failureReason, NativeLibrary::failureIsConfigError,
                Backends::nativeBackend, Backends::reference, Backends::checked, Backends::warnOnce);
    }

    /**
     * Normalises a {@value #BACKEND_PROPERTY} value: null/blank means "auto"; otherwise one of the allowed
     * names, case-insensitive. Anything else throws {@link IllegalArgumentException} naming the property and
     * the allowed values.
     */
    static String parseKind(String value) {
        if (value == null || value.isBlank()) {
            return "auto";
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "auto", "native", "reference", "checked" -> v;
            default -> throw new IllegalArgumentException("system property " + BACKEND_PROPERTY + " = '" + value
                    + "' is not one of: " + ALLOWED);
        };
    }

    /** The selection logic, with every dependency injectable for tests. */
    static Backend select(String propertyValue, boolean nativeRequired, Supplier<Boolean> nativeAvailable,
                          Supplier<String> failureReason, Supplier<Boolean> failureIsConfigError,
                          Supplier<Backend> nativeFactory, Supplier<Backend> referenceFactory,
                          Supplier<Backend> checkedFactory, Consumer<String> warn) {
        String kind = parseKind(propertyValue);
        switch (kind) {
            case "native":
                return nativeFactory.get();
            case "reference":
                return referenceFactory.get();
            case "checked":
                return checkedFactory.get();
            default:
                break;
        }
        if (nativeAvailable.get()) {
            return nativeFactory.get();
        }
        String reason = failureReason.get();
        if (failureIsConfigError.get()) {
            throw new IllegalArgumentException(reason);
        }
        if (nativeRequired) {
            throw new IllegalStateException("panama-cnn native library not available and " + NATIVE_REQUIRED_PROPERTY
                    + "=true forbids falling back to the reference backend: " + reason);
        }
        warn.accept(fallbackWarning(reason));
        return referenceFactory.get();
    }

    static String fallbackWarning(String reason) {
        return "panama-cnn: the native kernels are not available, falling back to the pure-Java reference backend "
                + "(much slower). Reason: " + reason + ". To choose the reference backend on purpose and silence "
                + "this warning, set -D" + BACKEND_PROPERTY + "=reference.";
    }

    private static void warnOnce(String message) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, message);
        }
    }
}
