package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The loader's platform mapping and messages, from fake os.name / os.arch values (the strings real
 * JVMs report: "Windows 11"/"amd64", "Mac OS X"/"aarch64", "Linux"/"aarch64", ...).
 */
class NativePlatformTest {

    @Test
    void resourceNamesPerPlatform() {
        assertThat(NativeLibrary.resourceName("Linux", "amd64")).isEqualTo("/native/linux-x86_64/libpanamacnn.so");
        assertThat(NativeLibrary.resourceName("Linux", "aarch64")).isEqualTo("/native/linux-aarch64/libpanamacnn.so");
        assertThat(NativeLibrary.resourceName("Windows 11", "amd64")).isEqualTo("/native/windows-x86_64/panamacnn.dll");
        assertThat(NativeLibrary.resourceName("Windows Server 2022", "x86_64"))
                .isEqualTo("/native/windows-x86_64/panamacnn.dll");
        assertThat(NativeLibrary.resourceName("Windows 11", "aarch64")).isEqualTo("/native/windows-aarch64/panamacnn.dll");
        assertThat(NativeLibrary.resourceName("Mac OS X", "aarch64")).isEqualTo("/native/macos-aarch64/libpanamacnn.dylib");
        assertThat(NativeLibrary.resourceName("Mac OS X", "x86_64")).isEqualTo("/native/macos-x86_64/libpanamacnn.dylib");
        assertThat(NativeLibrary.resourceName("Darwin", "arm64")).isEqualTo("/native/macos-aarch64/libpanamacnn.dylib");
        assertThat(NativeLibrary.resourceName("FreeBSD", "amd64")).isEqualTo("/native/freebsd-x86_64/libpanamacnn.so");
    }

    @Test
    void libraryFileNameAgreesWithTheJvmOnThisPlatform() {
        String os = NativeLibrary.osName(System.getProperty("os.name"));
        assertThat(NativeLibrary.libraryFileName(os)).isEqualTo(System.mapLibraryName("panamacnn"));
    }

    @Test
    void platformsInKeepsOnlyLibraryFilesOfTheirOwnOs() {
        List<String> entries = List.of(
                "native/", "native/windows-x86_64/", "native/windows-x86_64/panamacnn.dll",
                "native/linux-x86_64/libpanamacnn.so", "/native/linux-aarch64/libpanamacnn.so",
                "native/linux-aarch64/libpanamacnn.so",      // duplicate (jar + folder): once
                "native/linux-riscv64/panamacnn.dll",         // wrong file name for linux
                "native/macos-aarch64/libpanamacnn.so",       // wrong file name for macos
                "native/linux-x86_64/sub/libpanamacnn.so",    // too deep
                "native/platforms.txt", "io/github/panamacnn/PanamaCnn.class", "native/-x86_64/libpanamacnn.so");
        assertThat(NativeLibrary.platformsIn(entries))
                .containsExactly("linux-aarch64", "linux-x86_64", "windows-x86_64");
        assertThat(NativeLibrary.platformsIn(List.of())).isEmpty();
    }

    @Test
    void missingPlatformMessageNamesWhatTheJarCarriesAndTheFallback() {
        String m = NativeLibrary.noLibraryMessage("FreeBSD", "amd64", List.of("linux-x86_64", "windows-x86_64"));
        assertThat(m).contains("no native library for freebsd-x86_64")
                .contains("os.name=FreeBSD, os.arch=amd64")
                .contains("/native/freebsd-x86_64/libpanamacnn.so")
                .contains("carries native libraries for: linux-x86_64, windows-x86_64.")
                .contains("pure-Java reference backend")
                .contains("-Dpanamacnn.library.path=/path/to/libpanamacnn.so");
        String win = NativeLibrary.noLibraryMessage("Windows 10", "aarch64", List.of("windows-x86_64"));
        assertThat(win).contains("no native library for windows-aarch64")
                .contains("/native/windows-aarch64/panamacnn.dll")
                .contains("carries native libraries for: windows-x86_64.")
                .contains("/path/to/panamacnn.dll");
        assertThat(NativeLibrary.noLibraryMessage("Linux", "riscv64", List.of()))
                .contains("carries native libraries for: no platform.");
    }

    @Test
    void theClassPathCarriesTheLibraryOfThisPlatform() {
        // The build (CMake, then the resource copy) puts this platform's library under native/<os>-<arch>/.
        assertThat(NativeLibrary.bundledPlatforms()).contains(NativeLibrary.currentPlatform());
        assertThat(NativeLibrary.bundledPlatforms()).isSorted().doesNotHaveDuplicates();
    }
}
