package io.github.panamacnn.cli;

import java.util.List;
import java.util.Locale;

/** A minimal JSON writer for the check report (no dependency needed for one flat document). */
final class Json {
    private Json() {
    }

    static String report(String isa, int threads, long seed, boolean ok, List<CrossCheck.Row> rows) {
        StringBuilder sb = new StringBuilder(256 + rows.size() * 256);
        sb.append("{\n");
        sb.append("  \"isa\": ").append(str(isa)).append(",\n");
        sb.append("  \"threads\": ").append(threads).append(",\n");
        sb.append("  \"seed\": ").append(seed).append(",\n");
        sb.append("  \"java\": ").append(str(Runtime.version().toString())).append(",\n");
        sb.append("  \"ok\": ").append(ok).append(",\n");
        sb.append("  \"results\": [");
        for (int i = 0; i < rows.size(); i++) {
            CrossCheck.Row r = rows.get(i);
            sb.append(i == 0 ? "\n" : ",\n");
            sb.append("    {\"shape\": ").append(str(r.shape()))
                    .append(", \"op\": ").append(str(r.op()))
                    .append(", \"geometry\": ").append(str(r.geometry()))
                    .append(", \"maxAbsError\": ").append(num(r.maxAbsError()))
                    .append(", \"maxRelError\": ").append(num(r.maxRelError()))
                    .append(", \"errorOverBound\": ").append(num(r.errorOverBound()))
                    .append(", \"ok\": ").append(r.ok())
                    .append(", \"note\": ").append(str(r.note()))
                    .append(", \"nativeMillis\": ").append(num(r.nativeMillis()))
                    .append(", \"referenceMillis\": ").append(num(r.referenceMillis()))
                    .append('}');
        }
        sb.append(rows.isEmpty() ? "]\n" : "\n  ]\n");
        sb.append("}\n");
        return sb.toString();
    }

    /** A JSON number, or null for NaN / infinities (which JSON cannot represent). */
    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "null";
        }
        return String.format(Locale.ROOT, "%.6g", v);
    }

    static String str(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
