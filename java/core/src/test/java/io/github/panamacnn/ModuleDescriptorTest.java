package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The library module's boundary: it exports only the public API package and needs nothing but
 * java.base at run time (the command line and its dependencies live in another module).
 */
class ModuleDescriptorTest {

    private static ModuleDescriptor descriptor() {
        Path classes = Path.of(System.getProperty("panamacnn.module.dir", "java/core"), "target", "classes");
        assertThat(Files.isRegularFile(classes.resolve("module-info.class")))
                .as("module-info.class in %s", classes).isTrue();
        ModuleReference ref = ModuleFinder.of(classes).findAll().iterator().next();
        return ref.descriptor();
    }

    @Test
    void exportsOnlyThePublicApi() {
        ModuleDescriptor d = descriptor();
        assertThat(d.name()).isEqualTo("io.github.panamacnn");
        Set<String> exported = d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
        assertThat(exported).containsExactly("io.github.panamacnn");
        assertThat(d.exports()).allSatisfy(e -> assertThat(e.isQualified()).isFalse());
        // the internals exist but stay hidden
        assertThat(d.packages()).contains("io.github.panamacnn.ffi", "io.github.panamacnn.nativeimpl",
                "io.github.panamacnn.reference");
        assertThat(d.opens()).isEmpty();
    }

    @Test
    void requiresNothingButJavaBase() {
        Set<String> required = descriptor().requires().stream().map(ModuleDescriptor.Requires::name)
                .collect(Collectors.toSet());
        assertThat(required).containsExactly("java.base");
    }
}
