package io.github.panamacnn;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Layers run one after the other, like PyTorch's {@code nn.Sequential}: forward feeds each layer's
 * output to the next one (no copies), backward runs the layers in reverse.
 *
 * <p>{@link #parameters()} lists the children's parameters with their index as prefix
 * ({@code "0.weight"}, {@code "0.bias"}, {@code "7.weight"}, ...), exactly the keys of PyTorch's
 * {@code state_dict} for the same {@code nn.Sequential}.
 *
 * <p><b>Backward does only the work that is needed.</b> A layer's input gradient is computed only
 * when some layer in front of it has a parameter that requires a gradient, or when this network's
 * own input gradient is required ({@link #setInputGradientRequired}, default false: a network is
 * normally fed data, not a gradient-needing tensor). So the first convolution's backward-data pass
 * is skipped, and so is everything in front of a frozen prefix. The flags are recomputed on every
 * backward, so freezing and unfreezing take effect at once. {@link #backward} returns null when the
 * input gradient is not required.
 *
 * <p><b>Ownership</b> ({@code docs/ownership.md}): the network owns its layers and closes them in
 * {@link #close()}; a layer instance may appear only once (the constructor checks it); the returned
 * output is the last layer's, owned by it.
 */
public final class Sequential extends AbstractLayer {
    private final Layer[] layers;
    private final List<Layer> layerList;
    private final List<Parameter> parameters;

    private Sequential(Layer[] layers) {
        super("Sequential", false);
        this.layers = layers;
        this.layerList = Collections.unmodifiableList(Arrays.asList(layers));
        List<Parameter> ps = new ArrayList<>();
        for (int i = 0; i < layers.length; i++) {
            for (Parameter p : layers[i].parameters()) {
                ps.add(p.withPrefix(i + "."));
            }
        }
        this.parameters = List.copyOf(ps);
        updateInputGradientFlags();
    }

    /**
     * A network of {@code layers}, in order.
     *
     * @throws IllegalArgumentException when there are no layers, or one instance appears twice (also inside
     *         nested Sequentials): a layer keeps the state of one forward only, so use two instances
     * @throws NullPointerException naming the index of a null layer
     */
    public static Sequential of(Layer... layers) {
        Objects.requireNonNull(layers, "layers");
        if (layers.length == 0) {
            throw new IllegalArgumentException("a Sequential needs at least one layer");
        }
        IdentityHashMap<Layer, String> seen = new IdentityHashMap<>();
        for (int i = 0; i < layers.length; i++) {
            if (layers[i] == null) {
                throw new NullPointerException("layer " + i + " is null");
            }
            collect(layers[i], String.valueOf(i), seen);
        }
        return new Sequential(layers.clone());
    }

    private static void collect(Layer layer, String path, IdentityHashMap<Layer, String> seen) {
        String previous = seen.put(layer, path);
        if (previous != null) {
            throw new IllegalArgumentException("layer " + path + " (" + layer + ") is the same instance as layer "
                    + previous + ": a layer keeps the state of one forward only, so it cannot appear twice in a "
                    + "network; create a second instance (and copy the parameters if they must be shared)");
        }
        if (layer instanceof Sequential s) {
            for (int i = 0; i < s.layers.length; i++) {
                collect(s.layers[i], path + "." + i, seen);
            }
        }
    }

    /** The layers, in order (unmodifiable). */
    public List<Layer> layers() {
        return layerList;
    }

    /**
     * Runs every layer in order. A shape mismatch between layers throws {@link IllegalArgumentException}
     * naming the layer index, the layer and the shape it got.
     */
    @Override
    Tensor runForward(Tensor input) {
        Objects.requireNonNull(input, "input");
        Tensor x = input;
        for (int i = 0; i < layers.length; i++) {
            try {
                x = layers[i].forward(x);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer " + i + " (" + layers[i] + ") cannot take its input of shape "
                        + Arrays.toString(x.shape()) + (i == 0 ? " (the network input)" : " (the output of layer "
                        + (i - 1) + ", " + layers[i - 1] + ")") + ": " + e.getMessage(), e);
            }
        }
        return x;
    }

    /**
     * Runs every layer's backward in reverse order, stopping early when nothing in front needs a
     * gradient. Returns the gradient with respect to the network input, or null when it is not required.
     */
    @Override
    Tensor runBackward(Tensor gradOutput) {
        int first = updateInputGradientFlags();
        Tensor g = gradOutput;
        for (int i = layers.length - 1; i >= first; i--) {
            g = layers[i].backward(g);
        }
        return isInputGradientRequired() ? g : null;
    }

    /**
     * Sets each layer's input-gradient flag from the frozen flags; returns the index of the first layer
     * whose backward must run (layers before it have nothing to compute).
     */
    private int updateInputGradientFlags() {
        boolean needed = isInputGradientRequired();
        int first = needed ? 0 : layers.length;
        for (int i = 0; i < layers.length; i++) {
            layers[i].setInputGradientRequired(needed);
            List<Parameter> ps = layers[i].parameters();
            for (int j = 0; j < ps.size(); j++) {
                if (ps.get(j).requiresGrad()) {
                    first = Math.min(first, i);
                    needed = true;
                }
            }
        }
        return first;
    }

    @Override
    public List<Parameter> parameters() {
        checkOpen();
        return parameters;
    }

    /**
     * Loads every parameter from a NumPy {@code .npz} file whose keys are this network's
     * {@link #parameters()} names, i.e. PyTorch's {@code nn.Sequential.state_dict()} keys
     * ({@code numpy.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})}).
     * Everything is checked before anything is copied, so a bad file leaves the parameters untouched.
     *
     * @throws IllegalArgumentException naming a missing key, an extra key, or a key whose array has
     *         another shape (both shapes in the message)
     * @throws IOException when the file cannot be read, or is not a valid float32 .npz
     *         ({@link NpyFormatException})
     */
    public void load(Path npz) throws IOException {
        checkOpen();
        Objects.requireNonNull(npz, "npz");
        Map<String, Tensor> arrays = Npz.read(npz);
        try {
            for (Parameter p : parameters) {
                Tensor t = arrays.get(p.name());
                if (t == null) {
                    throw new IllegalArgumentException(npz + ": missing key \"" + p.name() + "\" (shape "
                            + Arrays.toString(p.value().shape()) + "); the file has " + arrays.keySet());
                }
                if (!t.hasSameShape(p.value())) {
                    throw new IllegalArgumentException(npz + ": key \"" + p.name() + "\" has shape "
                            + Arrays.toString(t.shape()) + " but the network's parameter has shape "
                            + Arrays.toString(p.value().shape()));
                }
            }
            for (String key : arrays.keySet()) {
                boolean known = false;
                for (Parameter p : parameters) {
                    known |= p.name().equals(key);
                }
                if (!known) {
                    throw new IllegalArgumentException(npz + ": extra key \"" + key + "\" (shape "
                            + Arrays.toString(arrays.get(key).shape()) + ") is not a parameter of this network, "
                            + "whose keys are " + parameterNames());
                }
            }
            for (Parameter p : parameters) {
                MemorySegment.copy(arrays.get(p.name()).segment(), 0, p.value().segment(), 0,
                        p.value().segment().byteSize());
            }
        } finally {
            for (Tensor t : arrays.values()) {
                t.close();
            }
        }
    }

    /**
     * Writes every parameter to a NumPy {@code .npz} file (uncompressed, in {@link #parameters()} order),
     * readable by {@code numpy.load} and loadable into the same PyTorch {@code nn.Sequential} with
     * {@code model.load_state_dict({k: torch.from_numpy(v) for k, v in numpy.load(path).items()})}.
     */
    public void save(Path npz) throws IOException {
        checkOpen();
        Objects.requireNonNull(npz, "npz");
        Map<String, Tensor> arrays = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            arrays.put(p.name(), p.value());
        }
        Npz.write(npz, arrays);
    }

    private List<String> parameterNames() {
        List<String> names = new ArrayList<>();
        for (Parameter p : parameters) {
            names.add(p.name());
        }
        return names;
    }

    /** Whether {@link #backward} computes the gradient with respect to the network input (default false). */
    @Override
    public void setInputGradientRequired(boolean required) {
        super.setInputGradientRequired(required);
    }

    @Override
    public void train() {
        super.train();
        for (Layer l : layers) {
            l.train();
        }
    }

    @Override
    public void eval() {
        super.eval();
        for (Layer l : layers) {
            l.eval();
        }
    }

    /** Nothing of its own: each layer forgets its forward in its own eval(). */
    @Override
    void forgetForward() {
    }

    /** Closes every layer. */
    @Override
    void freeOwned() {
        RuntimeException first = null;
        for (Layer l : layers) {
            try {
                l.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Sequential(");
        for (int i = 0; i < layers.length; i++) {
            b.append(i == 0 ? "" : ", ").append(i).append(": ").append(layers[i]);
        }
        return b.append(closedSuffix()).append(')').toString();
    }
}
