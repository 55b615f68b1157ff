package io.github.panamacnn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code panama-cnn} command line. Each subcommand is its own class listed in
 * {@code subcommands} below. {@code bench} is not one of them: it builds and runs native
 * programs, so the launcher hands it to {@code scripts/bench.sh}.
 */
@Command(name = "panama-cnn",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "CNN layers (conv2d, max-pool 2d) whose kernels are C (scalar / AVX2 / AVX-512) "
                + "called through java.lang.foreign.",
        footer = {"", "The launcher also runs the benchmark: ./panama-cnn bench [--no-jmh] [--only NAME,...] "
                + "(scripts/bench.sh: native kernels vs oneDNN, and JMH for the Java call path)."},
        subcommands = {
                InfoCommand.class,
                CheckCommand.class,
                TrainCommand.class,
                PredictCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {

    @Spec
    CommandSpec spec;

    /** Without a subcommand: print the usage. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The configured command line (also used by the tests, which set their own out/err writers). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The version from the jar manifest when present. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"panama-cnn " + NativeFacade.version(),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
