#!/usr/bin/env python3
"""Writes the fixtures of `plstar::model::import` (tests/fixtures/weights/).

Run from the repository root (needs only numpy and safetensors, no torch or jax):

    pip install --user numpy safetensors
    python3 scripts/make_weights_fixture.py

The network: d = 3 inputs, hidden widths [5, 4], tanh, biases on every layer, identity output,
k = 1 output (and a k = 3 variant), in the function a PyTorch `nn.Sequential(Linear, Tanh,
Linear, Tanh, Linear)` or a Flax `Dense`/`tanh` stack computes:

    z1 = W1 x + b1,  a1 = tanh(z1),  z2 = W2 a1 + b2,  a2 = tanh(z2),  f = W3 a2 + b3

with W_l of shape [out, in]. The same numbers are written in two key layouts:

- PyTorch `state_dict` (`safetensors.torch.save_file(model.state_dict())`): `<prefix>I.weight`
  [out, in] and `<prefix>I.bias` [out], I the index in the Sequential (0, 2, 4: the Tanh
  modules at 1 and 3 hold no parameters);
- Flax (`flax.traverse_util.flatten_dict(variables, sep="/")`): `<prefix>Dense_J/kernel`
  [in, out] (the transpose of W_J) and `<prefix>Dense_J/bias` [out].

Weights are float32 values (the dtype both frameworks train in), held here as float64, so the
files and the oracle below hold the same numbers exactly. Files written:

- torch_k1.safetensors — PyTorch layout, prefix `net.`, float32, metadata activation = tanh,
  output_activation = identity (plus `format = pt`, as torch's writer adds);
- flax_k1.safetensors — Flax layout, prefix `params/`, `/` separator, float64, same metadata;
- torch_k3.safetensors — PyTorch layout, no prefix, float32, no metadata;
- flax_k3.safetensors — Flax layout, no prefix, `.` separator (`Dense_0.kernel`), float32;
- inputs.npy [n, d] — the n = 6 inputs (float64);
- parameters_k{1,3}.npy [p] — the parameters in plstar's order (for l = 1…3: W_l row-major
  [out, in], then b_l);
- outputs_k{1,3}.npy [n, k] — f(x_i)_a from the forward pass above (float64);
- kernel_k{1,3}.npy [n k, n k] — the tangent kernel K = J Jᵀ, J[i k + a, :] = ∂f_a(x_i)/∂w in
  plstar's parameter order, from the analytic back-propagation below (checked here against
  central differences);
- data.csv — the inputs with the k = 1 target y = sin(x1 + 2 x2 − x3) (no header; for
  configs/imported.toml).
"""

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"
D, WIDTHS, N = 3, [5, 4], 6
SEED = 20260425


def draw_network(rng, k):
    """Weights W_l [out, in] ~ N(0, 1/in) and biases ~ N(0, 0.25), rounded to float32."""
    sizes = [D, *WIDTHS, k]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)
        b = 0.5 * rng.standard_normal(fan_out)
        layers.append((w.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)))
    return layers


def forward(layers, x):
    """f(x) [n, k] and the per-layer activations (inputs of each layer) and tanh derivatives."""
    a = x
    inputs, derivs = [], []
    for l, (w, b) in enumerate(layers):
        inputs.append(a)
        z = a @ w.T + b
        if l + 1 < len(layers):
            a = np.tanh(z)
            derivs.append(1.0 - a * a)
        else:
            a = z
    return a, inputs, derivs


def flatten(layers):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in layers])


def unflatten(w, k):
    sizes = [D, *WIDTHS, k]
    layers, at = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = w[at:at + fan_out * fan_in].reshape(fan_out, fan_in)
        at += fan_out * fan_in
        b = w[at:at + fan_out]
        at += fan_out
        layers.append((W, b))
    return layers


def jacobian(layers, x):
    """J [n k, p]: row i k + a is ∇_w f_a(x_i) in plstar's order (analytic back-propagation)."""
    f, inputs, derivs = forward(layers, x)
    n, k = f.shape
    rows = []
    for i in range(n):
        for a in range(k):
            delta = np.zeros(k)
            delta[a] = 1.0  # ∂f_a/∂z_{L+1}: identity output
            grads = []
            for l in reversed(range(len(layers))):
                w, _ = layers[l]
                grads.append(np.concatenate([np.outer(delta, inputs[l][i]).ravel(), delta]))
                if l > 0:
                    delta = (w.T @ delta) * derivs[l - 1][i]
            rows.append(np.concatenate(grads[::-1]))
    return np.array(rows)


def check_against_differences(layers, x, jac):
    """Central differences of the forward pass agree with the analytic Jacobian."""
    k = layers[-1][0].shape[0]
    w0 = flatten(layers)
    h = 1e-6
    fd = np.zeros_like(jac)
    for j in range(len(w0)):
        e = np.zeros_like(w0)
        e[j] = h
        plus, _, _ = forward(unflatten(w0 + e, k), x)
        minus, _, _ = forward(unflatten(w0 - e, k), x)
        fd[:, j] = ((plus - minus) / (2 * h)).ravel()
    err = np.abs(fd - jac).max()
    assert err < 1e-8, f"analytic Jacobian vs central differences: {err}"


def torch_keys(layers, prefix, dtype):
    """PyTorch state_dict keys: Sequential indices 0, 2, 4 (Tanh modules between Linears)."""
    out = {}
    for j, (w, b) in enumerate(layers):
        out[f"{prefix}{2 * j}.weight"] = w.astype(dtype)
        out[f"{prefix}{2 * j}.bias"] = b.astype(dtype)
    return out


def flax_keys(layers, prefix, sep, dtype):
    """Flax keys: Dense_J/kernel is Wᵀ, [in, out]."""
    out = {}
    for j, (w, b) in enumerate(layers):
        out[f"{prefix}Dense_{j}{sep}kernel"] = np.ascontiguousarray(w.T).astype(dtype)
        out[f"{prefix}Dense_{j}{sep}bias"] = b.astype(dtype)
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((N, D))
    np.save(OUT / "inputs.npy", x)
    y = np.sin(x[:, 0] + 2 * x[:, 1] - x[:, 2])
    with open(OUT / "data.csv", "w") as fh:
        for xi, yi in zip(x, y):
            fh.write(",".join(repr(float(v)) for v in (*xi, yi)) + "\n")

    activations = {"activation": "tanh", "output_activation": "identity"}
    for k in (1, 3):
        layers = draw_network(rng, k)
        f, _, _ = forward(layers, x)
        jac = jacobian(layers, x)
        check_against_differences(layers, x, jac)
        kernel = jac @ jac.T
        np.save(OUT / f"parameters_k{k}.npy", flatten(layers))
        np.save(OUT / f"outputs_k{k}.npy", f)
        np.save(OUT / f"kernel_k{k}.npy", kernel)
        if k == 1:
            save_file(torch_keys(layers, "net.", np.float32), OUT / "torch_k1.safetensors",
                      metadata={"format": "pt", **activations})
            save_file(flax_keys(layers, "params/", "/", np.float64), OUT / "flax_k1.safetensors",
                      metadata=activations)
        else:
            save_file(torch_keys(layers, "", np.float32), OUT / "torch_k3.safetensors")
            save_file(flax_keys(layers, "", ".", np.float32), OUT / "flax_k3.safetensors")
        eig = np.linalg.eigvalsh(kernel)
        print(f"k = {k}: p = {len(flatten(layers))}, f[:, 0] = {np.round(f[:, 0], 6)}, "
              f"λ_min(K) = {eig[0]:.6e}, λ_max(K) = {eig[-1]:.6e}, tr K = {np.trace(kernel):.6e}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
