package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Backend;
import io.github.panamacnn.PanamaCnn;

/**
 * Run in a forked JVM by {@link NativeLibraryTest}: the library is loaded once per JVM, so every loader
 * scenario (bad path, missing native access, properties) needs a fresh one. Prints key=value lines.
 */
public final class LoaderProbe {
    private LoaderProbe() {
    }

    public static void main(String[] args) {
        System.out.println("available=" + NativeLibrary.isAvailable());
        System.out.println("path=" + NativeLibrary.path().map(Object::toString).orElse("-"));
        System.out.println("reason=" + NativeLibrary.failureReason());
        try {
            NativeLibrary.ensureLoaded();
            System.out.println("ensureLoaded=ok");
        } catch (RuntimeException e) {
            System.out.println("ensureLoaded=" + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        if (NativeLibrary.isAvailable()) {
            System.out.println("activeIsa=" + PanamaCnn.activeIsa().id());
            System.out.println("detectedIsa=" + PanamaCnn.detectedIsa().id());
            System.out.println("numThreads=" + PanamaCnn.numThreads());
        }
        for (int i = 0; i < 2; i++) {
            try {
                Backend b = Backend.defaultBackend();
                System.out.println("backend=" + b.name());
            } catch (RuntimeException e) {
                System.out.println("backendError=" + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        System.out.flush();
    }
}
