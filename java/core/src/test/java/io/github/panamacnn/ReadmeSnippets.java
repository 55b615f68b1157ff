package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

/** Helpers for the tests that keep README.md's code blocks identical to compiled, tested code. */
final class ReadmeSnippets {
    private ReadmeSnippets() {
    }

    /** The lines strictly between the lines whose stripped text is {@code begin} and {@code end}. */
    static List<String> between(List<String> lines, String begin, String end) {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (String l : lines) {
            if (l.strip().equals(begin)) {
                in = true;
            } else if (l.strip().equals(end)) {
                return out;
            } else if (in) {
                out.add(l);
            }
        }
        throw new AssertionError("markers " + begin + " / " + end + " not found");
    }

    /** Removes the indentation common to all non-blank lines, and trailing blanks. */
    static List<String> dedent(List<String> lines) {
        int indent = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            out.add(l.isBlank() ? "" : l.substring(indent).stripTrailing());
        }
        return out;
    }

    /** The body of the ```java block that follows the line {@code marker} in the README. */
    static List<String> blockAfter(List<String> readme, String marker) {
        int at = readme.indexOf(marker);
        assertThat(at).as("README.md must contain the line %s", marker).isGreaterThanOrEqualTo(0);
        assertThat(readme.get(at + 1)).as("the line after the marker opens the code block").isEqualTo("```java");
        List<String> block = new ArrayList<>();
        for (int i = at + 2; i < readme.size() && !readme.get(i).equals("```"); i++) {
            block.add(readme.get(i));
        }
        return block;
    }
}
