package io.github.panamacnn.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks the hand-written (jextract-shaped) bindings in this package against the C header
 * they claim to mirror. Everything expected is read from the header text at test time, so
 * a header change that is not carried into the bindings (or the reverse) fails here.
 */
class BindingsMatchHeaderTest {

    static final Path HEADER = Path.of("native/include/panamacnn/panamacnn.h");
    static final Path BUILT_LIBRARY = Path.of(System.getProperty("panamacnn.module.dir", "java/core"),
            "target/classes/native/linux-x86_64/libpanamacnn.so");
    static final String PACKAGE = "io.github.panamacnn.ffi";

    /** A C type as the ABI allows it: fixed-width integers, float, void, or a pointer. */
    enum CType {
        INT32(ValueLayout.JAVA_INT, int.class),
        INT64(ValueLayout.JAVA_LONG, long.class),
        FLOAT(ValueLayout.JAVA_FLOAT, float.class),
        POINTER(ValueLayout.ADDRESS, MemorySegment.class),
        VOID(null, void.class);

        final ValueLayout layout;
        final Class<?> carrier;

        CType(ValueLayout layout, Class<?> carrier) {
            this.layout = layout;
            this.carrier = carrier;
        }

        static CType parse(String cType, String context) {
            String t = cType.trim();
            if (t.contains("*")) {
                return POINTER;
            }
            t = t.replaceAll("\\bconst\\b", "").trim();
            return switch (t) {
                case "int32_t" -> INT32;
                case "int64_t" -> INT64;
                case "float" -> FLOAT;
                case "void" -> VOID;
                default -> throw new AssertionError("header: type '" + cType + "' in " + context
                        + " is not an ABI type (int32_t, int64_t, float, void or a pointer)");
            };
        }
    }

    record Param(CType type, String name) {}

    record Function(String name, CType returnType, List<Param> params, String prototype) {}

    record Field(CType type, String name) {}

    record Struct(String name, List<Field> fields) {}

    record Header(List<Function> functions, List<Struct> structs, Map<String, Long> constants) {}

    private static final Pattern DEFINE = Pattern.compile(
            "^[ \\t]*#[ \\t]*define[ \\t]+(\\w+)[ \\t]+\\(?[ \\t]*(-?(?:0[xX][0-9a-fA-F]+|\\d+))[uUlL]*[ \\t]*\\)?[ \\t]*$",
            Pattern.MULTILINE);
    private static final Pattern STRUCT = Pattern.compile(
            "typedef\\s+struct\\s+(\\w+)\\s*\\{([^}]*)\\}\\s*(\\w+)\\s*;");
    private static final Pattern FIELD = Pattern.compile("^\\s*([\\w\\s*]+?[\\s*])(\\w+)\\s*$");
    private static final Pattern FUNCTION = Pattern.compile(
            "\\bPCNN_API\\s+([^;(){}]*?)\\b(\\w+)\\s*\\(([^)]*)\\)\\s*;");

    static Header parseHeader(String text) {
        String code = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");

        Map<String, Long> constants = new LinkedHashMap<>();
        Matcher d = DEFINE.matcher(code);
        while (d.find()) {
            String v = d.group(2);
            boolean neg = v.startsWith("-");
            String digits = neg ? v.substring(1) : v;
            long value = digits.startsWith("0x") || digits.startsWith("0X")
                    ? Long.parseLong(digits.substring(2), 16) : Long.parseLong(digits);
            constants.put(d.group(1), neg ? -value : value);
        }

        // declarations only from here on: drop preprocessor lines (#define PCNN_API ...)
        code = code.replaceAll("(?m)^[ \\t]*#.*$", " ");

        List<Struct> structs = new ArrayList<>();
        Matcher s = STRUCT.matcher(code);
        while (s.find()) {
            String tag = s.group(1);
            assertThat(s.group(3)).as("struct tag and typedef name must be the same (design rule)")
                    .isEqualTo(tag);
            List<Field> fields = new ArrayList<>();
            for (String decl : s.group(2).split(";")) {
                if (decl.isBlank()) {
                    continue;
                }
                // "int64_t a, b" declares two fields of one type
                String[] parts = decl.split(",");
                Matcher f = FIELD.matcher(parts[0]);
                if (!f.matches()) {
                    throw new AssertionError("header: cannot parse field '" + decl.trim() + "' of " + tag);
                }
                CType type = CType.parse(f.group(1), tag + "." + f.group(2));
                fields.add(new Field(type, f.group(2)));
                for (int i = 1; i < parts.length; i++) {
                    fields.add(new Field(type, parts[i].trim()));
                }
            }
            structs.add(new Struct(tag, fields));
        }

        List<Function> functions = new ArrayList<>();
        Matcher m = FUNCTION.matcher(code);
        while (m.find()) {
            String name = m.group(2);
            CType ret = CType.parse(m.group(1), name + " return type");
            String paramText = m.group(3).replaceAll("\\s+", " ").trim();
            List<Param> params = new ArrayList<>();
            if (!paramText.equals("void") && !paramText.isEmpty()) {
                for (String p : paramText.split(",")) {
                    Matcher pm = Pattern.compile("^(.*?)(\\w+)$").matcher(p.trim());
                    if (!pm.matches() || pm.group(1).isBlank()) {
                        throw new AssertionError("header: parameter '" + p.trim() + "' of " + name
                                + " must have a type and a name");
                    }
                    params.add(new Param(CType.parse(pm.group(1), name + "(" + pm.group(2) + ")"), pm.group(2)));
                }
            }
            String proto = (m.group(1) + name + "(" + m.group(3) + ")").replaceAll("\\s+", " ");
            functions.add(new Function(name, ret, params, proto));
        }
        return new Header(functions, structs, constants);
    }

    static Header header;

    @BeforeAll
    static void readHeader() throws IOException {
        assertThat(HEADER).as("header (the test must run with the project root as working directory)")
                .isRegularFile();
        header = parseHeader(Files.readString(HEADER));
        // Guard against a parser that silently finds nothing: the ABI has all three kinds.
        assertThat(header.functions()).as("functions parsed from " + HEADER).isNotEmpty();
        assertThat(header.structs()).as("structs parsed from " + HEADER).isNotEmpty();
        assertThat(header.constants()).as("#define constants parsed from " + HEADER).isNotEmpty();
    }

    /**
     * The holder class of each function resolves its symbol when first touched, so
     * {@code $descriptor()} needs the library. Load the one the build put on the classpath.
     */
    static void loadLibrary() {
        Path lib = BUILT_LIBRARY.toAbsolutePath();
        if (!Files.isRegularFile(lib)) {
            fail("native library not found at " + lib + ": build it first (mvn generate-resources, which"
                    + " runs CMake) - the function bindings resolve their symbols from it");
        }
        System.load(lib.toString());
    }

    // ---- (1) functions ----

    @Test
    void everyHeaderFunctionHasMatchingBindings() throws Exception {
        loadLibrary();
        List<String> problems = new ArrayList<>();
        for (Function f : header.functions()) {
            if (!f.name().startsWith("pcnn_")) {
                problems.add(f.name() + ": exported without the pcnn_ prefix (scripts/regen-bindings.sh"
                        + " keeps only pcnn_/PCNN_ symbols, so jextract would drop it)");
            }
            Method descriptorGetter = findMethod(panamacnn_h.class, f.name() + "$descriptor");
            if (descriptorGetter == null) {
                problems.add(f.name() + ": no " + f.name() + "$descriptor() in panamacnn_h");
                continue;
            }
            FunctionDescriptor desc = (FunctionDescriptor) invokeStatic(descriptorGetter);

            // return layout
            if (f.returnType() == CType.VOID) {
                if (desc.returnLayout().isPresent()) {
                    problems.add(f.name() + ": returns void in C but the descriptor returns "
                            + desc.returnLayout().get());
                }
            } else if (desc.returnLayout().isEmpty()) {
                problems.add(f.name() + ": returns " + f.returnType() + " in C but the descriptor is void");
            } else if (!layoutMatches(desc.returnLayout().get(), f.returnType())) {
                problems.add(f.name() + ": return layout " + desc.returnLayout().get()
                        + " does not match C " + f.returnType());
            }

            // argument layouts
            List<MemoryLayout> args = desc.argumentLayouts();
            if (args.size() != f.params().size()) {
                problems.add(f.name() + ": " + f.params().size() + " parameters in C, "
                        + args.size() + " in the descriptor");
            } else {
                for (int i = 0; i < args.size(); i++) {
                    Param p = f.params().get(i);
                    if (!layoutMatches(args.get(i), p.type())) {
                        problems.add(f.name() + ": parameter " + i + " (" + p.name() + ") layout "
                                + args.get(i) + " does not match C " + p.type());
                    }
                }
            }

            // the other accessors and the wrapper, with Java types that follow from C
            Method handle = findMethod(panamacnn_h.class, f.name() + "$handle");
            Method address = findMethod(panamacnn_h.class, f.name() + "$address");
            if (handle == null || handle.getReturnType() != MethodHandle.class) {
                problems.add(f.name() + ": no MethodHandle " + f.name() + "$handle()");
            } else {
                MethodHandle mh = (MethodHandle) invokeStatic(handle);
                if (!mh.type().equals(desc.toMethodType())) {
                    problems.add(f.name() + ": handle type " + mh.type() + " != " + desc.toMethodType());
                }
            }
            if (address == null || address.getReturnType() != MemorySegment.class) {
                problems.add(f.name() + ": no MemorySegment " + f.name() + "$address()");
            } else if (((MemorySegment) invokeStatic(address)).equals(MemorySegment.NULL)) {
                problems.add(f.name() + ": address is NULL");
            }
            Class<?>[] javaParams = f.params().stream().map(p -> p.type().carrier).toArray(Class<?>[]::new);
            try {
                Method wrapper = panamacnn_h.class.getMethod(f.name(), javaParams);
                if (wrapper.getReturnType() != f.returnType().carrier || !Modifier.isStatic(wrapper.getModifiers())) {
                    problems.add(f.name() + ": wrapper should be static and return "
                            + f.returnType().carrier.getSimpleName() + ", is " + wrapper);
                }
            } catch (NoSuchMethodException e) {
                problems.add(f.name() + ": no public static wrapper " + f.name() + Arrays.stream(javaParams)
                        .map(Class::getSimpleName).collect(Collectors.joining(", ", "(", ")")));
            }
        }

        // nothing bound that the header no longer declares
        Set<String> headerNames = header.functions().stream().map(Function::name)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> bound = Arrays.stream(panamacnn_h.class.getDeclaredMethods())
                .map(Method::getName)
                .filter(n -> n.endsWith("$descriptor"))
                .map(n -> n.substring(0, n.length() - "$descriptor".length()))
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> stale = new TreeSet<>(bound);
        stale.removeAll(headerNames);
        if (!stale.isEmpty()) {
            problems.add("bound but not in the header: " + stale);
        }

        assertThat(problems).as("function bindings vs " + HEADER).isEmpty();
        assertThat(bound).as("functions compared").hasSize(header.functions().size());
    }

    /** int32_t -> C_INT, int64_t -> C_LONG (LP64), float -> C_FLOAT, pointer -> C_POINTER. */
    static boolean layoutMatches(MemoryLayout actual, CType expected) {
        if (expected == CType.POINTER) {
            return actual instanceof AddressLayout a && a.withoutTargetLayout().withoutName().equals(ValueLayout.ADDRESS);
        }
        return actual instanceof ValueLayout v && expected.layout != null
                && v.withoutName().equals(expected.layout);
    }

    // ---- (2) structs ----

    @Test
    void everyHeaderStructHasTheSameFieldsInOrderWithoutPadding() throws Exception {
        List<String> problems = new ArrayList<>();
        for (Struct s : header.structs()) {
            Class<?> cls;
            try {
                cls = Class.forName(PACKAGE + "." + s.name());
            } catch (ClassNotFoundException e) {
                problems.add(s.name() + ": no class " + PACKAGE + "." + s.name());
                continue;
            }
            GroupLayout layout = (GroupLayout) invokeStatic(cls.getMethod("layout"));
            assertThat(layout).as(s.name() + " layout kind").isInstanceOf(StructLayout.class);
            assertThat(layout.name()).as(s.name() + " layout name").contains(s.name());

            List<MemoryLayout> members = layout.memberLayouts();
            List<String> memberNames = members.stream()
                    .map(l -> l instanceof PaddingLayout ? "<padding>" : l.name().orElse("<unnamed>"))
                    .toList();
            List<String> headerNames = s.fields().stream().map(Field::name).toList();
            if (!memberNames.equals(headerNames)) {
                problems.add(s.name() + ": fields " + memberNames + " but the header has " + headerNames);
                continue;
            }

            long expectedSize = 0;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = (MemorySegment) cls.getMethod("allocate", java.lang.foreign.SegmentAllocator.class)
                        .invoke(null, arena);
                for (int i = 0; i < members.size(); i++) {
                    Field f = s.fields().get(i);
                    MemoryLayout member = members.get(i);
                    String where = s.name() + "." + f.name();
                    boolean ok = layoutMatches(member, f.type());
                    if (!ok) {
                        problems.add(where + ": layout " + member + " does not match C " + f.type());
                    }
                    long offset = (long) invokeStatic(cls.getMethod(f.name() + "$offset"));
                    if (offset != expectedSize) {
                        problems.add(where + ": offset " + offset + ", expected " + expectedSize);
                        ok = false;
                    }
                    // accessor pair: the setter writes the C field at the C offset, the getter reads it
                    if (ok && f.type() == CType.INT64) {
                        long v = 0x0102030405060708L * (i + 1);
                        cls.getMethod(f.name(), MemorySegment.class, long.class).invoke(null, seg, v);
                        long raw = seg.get(ValueLayout.JAVA_LONG_UNALIGNED, expectedSize);
                        Object read = cls.getMethod(f.name(), MemorySegment.class).invoke(null, seg);
                        if (raw != v || !Long.valueOf(v).equals(read)) {
                            problems.add(where + ": setter/getter do not round-trip at offset " + expectedSize);
                        }
                    }
                    expectedSize += f.type().layout.byteSize();
                }
            }
            if (layout.byteSize() != expectedSize) {
                problems.add(s.name() + ": byteSize " + layout.byteSize() + ", sum of fields " + expectedSize);
            }
            assertThat((long) invokeStatic(cls.getMethod("sizeof"))).as(s.name() + ".sizeof()")
                    .isEqualTo(layout.byteSize());
        }
        assertThat(problems).as("struct bindings vs " + HEADER).isEmpty();
    }

    // ---- (3) constants ----

    @Test
    void everyHeaderConstantHasAnAccessorWithTheHeaderValue() throws Exception {
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (Map.Entry<String, Long> c : header.constants().entrySet()) {
            if (!c.getKey().startsWith("PCNN_")) {
                problems.add(c.getKey() + ": integer #define without the PCNN_ prefix (scripts/regen-bindings.sh"
                        + " keeps only pcnn_/PCNN_ symbols, so jextract would drop it)");
                continue;
            }
            Method m = findMethod(panamacnn_h.class, c.getKey());
            if (m == null || m.getParameterCount() != 0 || !Modifier.isPublic(m.getModifiers())) {
                problems.add(c.getKey() + ": no public static " + c.getKey() + "() in panamacnn_h");
                continue;
            }
            Object value = invokeStatic(m);
            if (!(value instanceof Number n) || n.longValue() != c.getValue()) {
                problems.add(c.getKey() + "() returns " + value + ", header says " + c.getValue());
            }
            compared++;
        }
        // nothing left over from an older header
        Set<String> bound = Arrays.stream(panamacnn_h.class.getMethods())
                .filter(m -> m.getName().startsWith("PCNN_") && m.getParameterCount() == 0)
                .map(Method::getName)
                .collect(Collectors.toCollection(TreeSet::new));
        bound.removeAll(header.constants().keySet());
        if (!bound.isEmpty()) {
            problems.add("constants bound but not in the header: " + bound);
        }
        assertThat(problems).as("constant bindings vs " + HEADER).isEmpty();
        assertThat(compared).as("constants compared").isEqualTo(header.constants().size());
        assertThat(compared).as("constants compared").isPositive();
    }

    // ---- the parser itself must be able to fail ----

    @Test
    void parserReadsPrototypesStructsAndDefines() {
        Header h = parseHeader("""
                #define PCNN_X 7 /* comment */
                #define PCNN_GUARD
                typedef struct pcnn_s {
                    int64_t a; /* note */
                    int32_t b;
                } pcnn_s;
                PCNN_API int32_t pcnn_f(const pcnn_s *desc,
                                        const float *src, int64_t n);
                PCNN_API const char *pcnn_g(void);
                int32_t not_exported(int32_t x);
                """);
        assertThat(h.constants()).containsExactly(Map.entry("PCNN_X", 7L));
        assertThat(h.structs()).containsExactly(new Struct("pcnn_s",
                List.of(new Field(CType.INT64, "a"), new Field(CType.INT32, "b"))));
        assertThat(h.functions()).extracting(Function::name).containsExactly("pcnn_f", "pcnn_g");
        assertThat(h.functions().get(0).params()).containsExactly(
                new Param(CType.POINTER, "desc"), new Param(CType.POINTER, "src"), new Param(CType.INT64, "n"));
        assertThat(h.functions().get(1).returnType()).isEqualTo(CType.POINTER);
        assertThat(h.functions().get(1).params()).isEmpty();
    }

    // ---- helpers ----

    static Method findMethod(Class<?> cls, String name) {
        return Arrays.stream(cls.getMethods())
                .filter(m -> m.getName().equals(name) && m.getParameterCount() == 0
                        && Modifier.isStatic(m.getModifiers()))
                .findFirst().orElse(null);
    }

    static Object invokeStatic(Method m) throws Exception {
        try {
            return m.invoke(null);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ExceptionInInitializerError init && init.getCause() != null) {
                cause = init.getCause();
            }
            throw new AssertionError(m.getName() + "() failed: " + cause, cause);
        }
    }
}
