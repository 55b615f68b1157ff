package io.github.panamacnn;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs {@code /usr/bin/python3} for tests that compare against NumPy or PyTorch. When the module
 * cannot be imported the test is skipped, unless {@code PANAMACNN_REQUIRE_TORCH=1} (environment; set
 * by .ci/run when torch is importable, and torch brings NumPy) or {@code -Dpanamacnn.requireTorch=true}:
 * then it fails.
 */
final class PythonSupport {
    static final Path PYTHON = Path.of("/usr/bin/python3");

    private PythonSupport() {
    }

    static boolean required() {
        String env = System.getenv("PANAMACNN_REQUIRE_TORCH");
        return Boolean.getBoolean("panamacnn.requireTorch")
                || (env != null && (env.trim().equals("1") || env.trim().equalsIgnoreCase("true")));
    }

    /** Skips (or, when required, fails) the calling test unless {@code import module} works. */
    static void assumeModule(String module) throws IOException, InterruptedException {
        String reason = null;
        if (!Files.isExecutable(PYTHON)) {
            reason = PYTHON + " does not exist or is not executable";
        } else {
            Result r = run(List.of("-c", "import " + module), Path.of("."), 2);
            if (r.exit() != 0) {
                reason = PYTHON + " cannot import " + module + " (exit " + r.exit() + "): " + r.lastLine();
            }
        }
        if (reason != null) {
            if (required()) {
                fail("python3 with " + module + " is required (PANAMACNN_REQUIRE_TORCH=1) but " + reason);
            }
            Assumptions.abort("skipped: " + reason + "; install Debian's python3-numpy / python3-torch to run it");
        }
    }

    record Result(int exit, String output) {
        String lastLine() {
            String s = output.strip();
            return s.isEmpty() ? "" : s.substring(s.lastIndexOf('\n') + 1);
        }
    }

    /** Runs python3 with {@code args} in {@code dir} (stdout and stderr merged), one thread for torch. */
    static Result run(List<String> args, Path dir, long timeoutMinutes) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(PYTHON.toString());
        cmd.addAll(args);
        Path log = Files.createTempFile("panamacnn-python", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("OMP_NUM_THREADS", "1");
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail(cmd + " did not finish within " + timeoutMinutes + " minutes; output:\n"
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Runs a Python program given as text; fails the test with its output when it exits non-zero. */
    static String runScript(String program, Path dir) throws IOException, InterruptedException {
        Path script = dir.resolve("script.py");
        Files.writeString(script, program, StandardCharsets.UTF_8);
        Result r = run(List.of(script.toString()), dir, 5);
        if (r.exit() != 0) {
            fail("python3 exited with " + r.exit() + ":\n" + r.output());
        }
        return r.output();
    }
}
