package io.github.panamacnn;

import java.util.Objects;

/**
 * A trainable tensor of a layer with its gradient, named like the PyTorch {@code state_dict} key
 * ({@code "weight"}, {@code "bias"}; from a {@link Sequential}: {@code "3.weight"}).
 *
 * <p>The value and gradient tensors belong to the layer (closed with it); an optimizer may modify
 * them in place. The gradient is overwritten by each backward. {@link #requiresGrad(boolean)
 * requiresGrad(false)} freezes the parameter: backward skips its gradient (which then keeps its
 * last value) and optimizers skip it. Copies made by a {@code Sequential} with a prefixed name share
 * the tensors and the frozen flag with the layer's own parameter.
 */
public final class Parameter {
    private static final class Flag {
        volatile boolean requiresGrad = true;
    }

    private final String name;
    private final Tensor value;
    private final Tensor grad;
    private final Flag flag;

    private Parameter(String name, Tensor value, Tensor grad, Flag flag) {
        this.name = name;
        this.value = value;
        this.grad = grad;
        this.flag = flag;
    }

    /** A parameter named {@code name} over {@code value} and {@code grad} (same shape), requiring a gradient. */
    public static Parameter of(String name, Tensor value, Tensor grad) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(grad, "grad");
        if (!java.util.Arrays.equals(value.shape(), grad.shape())) {
            throw new IllegalArgumentException("parameter " + name + ": value " + java.util.Arrays.toString(value.shape())
                    + " and grad " + java.util.Arrays.toString(grad.shape()) + " differ in shape");
        }
        return new Parameter(name, value, grad, new Flag());
    }

    /** The same parameter (same tensors, same frozen flag) under the name {@code prefix + name()}. */
    public Parameter withPrefix(String prefix) {
        return new Parameter(prefix + name, value, grad, flag);
    }

    /** The state_dict key. */
    public String name() {
        return name;
    }

    /** The parameter tensor, owned by its layer. */
    public Tensor value() {
        return value;
    }

    /** Its gradient (same shape), owned by its layer, overwritten by each backward. */
    public Tensor grad() {
        return grad;
    }

    /** False when frozen. */
    public boolean requiresGrad() {
        return flag.requiresGrad;
    }

    /** Freezes ({@code false}) or unfreezes the parameter. */
    public void requiresGrad(boolean on) {
        flag.requiresGrad = on;
    }

    @Override
    public String toString() {
        return "Parameter(" + name + ", " + java.util.Arrays.toString(value.shape())
                + (flag.requiresGrad ? "" : ", frozen") + ")";
    }
}
