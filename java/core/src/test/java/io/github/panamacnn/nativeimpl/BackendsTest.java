package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BackendsTest {

    /** A distinguishable stand-in backend. */
    private record Fake(String name) implements Backend {
        @Override public void conv2dForward(Conv2dGeometry g, Tensor s, Tensor w, Tensor b, Tensor d) { }
        @Override public void conv2dBackwardData(Conv2dGeometry g, Tensor dy, Tensor w, Tensor dx) { }
        @Override public void conv2dBackwardWeights(Conv2dGeometry g, Tensor s, Tensor dy, Tensor dw, Tensor db) { }
        @Override public void maxPool2dForward(MaxPool2dGeometry g, Tensor s, Tensor d, IndexBuffer i) { }
        @Override public void maxPool2dBackward(MaxPool2dGeometry g, Tensor dy, IndexBuffer i, Tensor dx) { }
    }

    private static final Backend NATIVE = new Fake("fake-native");
    private static final Backend REFERENCE = new Fake("fake-reference");
    private static final Backend CHECKED = new Fake("fake-checked");

    private static Supplier<Backend> forbidden(String what) {
        return () -> {
            throw new AssertionError(what + " must not be created");
        };
    }

    @Test
    void parseKindAcceptsTheFourNamesCaseInsensitivelyAndDefaultsToAuto() {
        assertThat(Backends.parseKind(null)).isEqualTo("auto");
        assertThat(Backends.parseKind("")).isEqualTo("auto");
        assertThat(Backends.parseKind(" AUTO ")).isEqualTo("auto");
        assertThat(Backends.parseKind("Native")).isEqualTo("native");
        assertThat(Backends.parseKind("reference")).isEqualTo("reference");
        assertThat(Backends.parseKind("CHECKED")).isEqualTo("checked");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fast", "jni", "native2", "ref"})
    void parseKindRejectsOtherValuesNamingThePropertyAndTheAllowedValues(String bad) {
        assertThatThrownBy(() -> Backends.parseKind(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("panamacnn.backend")
                .hasMessageContaining("'" + bad + "'")
                .hasMessageContaining("auto, native, reference, checked");
    }

    @Test
    void explicitChoicesUseTheirFactoryOnly() {
        assertThat(Backends.select("native", false, () -> false, () -> "x", () -> false,
                () -> NATIVE, forbidden("reference"), forbidden("checked"), m -> { })).isSameAs(NATIVE);
        assertThat(Backends.select("reference", true, () -> { throw new AssertionError("no native probe"); },
                () -> "x", () -> false, forbidden("native"), () -> REFERENCE, forbidden("checked"), m -> { }))
                .isSameAs(REFERENCE);
        assertThat(Backends.select("checked", false, () -> true, () -> null, () -> false,
                forbidden("native"), forbidden("reference"), () -> CHECKED, m -> { })).isSameAs(CHECKED);
    }

    @Test
    void autoPicksNativeWhenAvailableWithoutWarning() {
        List<String> warnings = new ArrayList<>();
        assertThat(Backends.select(null, false, () -> true, () -> null, () -> false,
                () -> NATIVE, forbidden("reference"), forbidden("checked"), warnings::add)).isSameAs(NATIVE);
        assertThat(warnings).isEmpty();
    }

    @Test
    void autoFallsBackWithAWarningThatSaysWhyAndWhatToDo() {
        List<String> warnings = new ArrayList<>();
        Backend b = Backends.select("auto", false, () -> false, () -> "the dog ate libpanamacnn.so", () -> false,
                forbidden("native"), () -> REFERENCE, forbidden("checked"), warnings::add);
        assertThat(b).isSameAs(REFERENCE);
        assertThat(warnings).hasSize(1);
        assertThat(warnings.get(0)).contains("the dog ate libpanamacnn.so").contains("reference")
                .contains("-Dpanamacnn.backend=reference");
    }

    @Test
    void autoThrowsInsteadOfFallingBackWhenNativeIsRequired() {
        List<String> warnings = new ArrayList<>();
        assertThatThrownBy(() -> Backends.select("auto", true, () -> false, () -> "no library for riscv64",
                () -> false, forbidden("native"), forbidden("reference"), forbidden("checked"), warnings::add))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no library for riscv64")
                .hasMessageContaining("panamacnn.native.required");
        assertThat(warnings).isEmpty();
    }

    @Test
    void autoDoesNotHideAConfigurationError() {
        assertThatThrownBy(() -> Backends.select("auto", false, () -> false, () -> "system property panamacnn.maxIsa bad",
                () -> true, forbidden("native"), forbidden("reference"), forbidden("checked"), m -> { }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("panamacnn.maxIsa");
    }

    @Test
    void realFactories() {
        Backend n1 = Backend.nativeBackend();
        assertThat(n1.name()).isEqualTo("native");
        assertThat(Backend.nativeBackend()).isSameAs(n1);
        assertThat(Backend.reference().name()).isEqualTo("reference");
        assertThat(Backend.checked().name()).isEqualTo("checked");
    }

    @Test
    void defaultBackendFollowsTheSystemProperty() {
        String saved = System.getProperty(Backends.BACKEND_PROPERTY);
        try {
            System.clearProperty(Backends.BACKEND_PROPERTY);
            assertThat(Backend.defaultBackend().name()).isEqualTo("native"); // the library loads in the tests
            System.setProperty(Backends.BACKEND_PROPERTY, "reference");
            assertThat(Backend.defaultBackend().name()).isEqualTo("reference");
            System.setProperty(Backends.BACKEND_PROPERTY, "checked");
            assertThat(Backend.defaultBackend().name()).isEqualTo("checked");
            System.setProperty(Backends.BACKEND_PROPERTY, "Native");
            assertThat(Backend.defaultBackend().name()).isEqualTo("native");
            System.setProperty(Backends.BACKEND_PROPERTY, "turbo");
            assertThatThrownBy(Backend::defaultBackend).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("panamacnn.backend").hasMessageContaining("turbo");
        } finally {
            if (saved == null) {
                System.clearProperty(Backends.BACKEND_PROPERTY);
            } else {
                System.setProperty(Backends.BACKEND_PROPERTY, saved);
            }
        }
    }
}
