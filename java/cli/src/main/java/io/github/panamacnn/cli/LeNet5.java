package io.github.panamacnn.cli;

import io.github.panamacnn.Conv2d;
import io.github.panamacnn.Flatten;
import io.github.panamacnn.Linear;
import io.github.panamacnn.MaxPool2d;
import io.github.panamacnn.ReLU;
import io.github.panamacnn.Sequential;

/**
 * LeNet-5 for 28x28 grey images, as in the README and {@code bench/lenet_torch.py} (PyTorch's
 * {@code nn.Sequential} with the same indices, so the .npz keys are the same state_dict keys):
 * conv 5x5 (pad 2) 1->6, ReLU, max-pool 2, conv 5x5 6->16, ReLU, max-pool 2, flatten,
 * linear 400->120, ReLU, linear 120->84, ReLU, linear 84->10.
 */
final class LeNet5 {
    private LeNet5() {
    }

    /** A freshly initialised network (PyTorch's default initialisation, drawn from {@code seed}). */
    static Sequential create(long seed) {
        return Sequential.of(
                Conv2d.builder(1, 6, 5, 5).padding(2).seed(seed).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                Conv2d.builder(6, 16, 5, 5).seed(seed + 1).build(), new ReLU(), MaxPool2d.builder(2, 2).build(),
                new Flatten(),
                Linear.builder(400, 120).seed(seed + 2).build(), new ReLU(),
                Linear.builder(120, 84).seed(seed + 3).build(), new ReLU(),
                Linear.builder(84, 10).seed(seed + 4).build());
    }
}
