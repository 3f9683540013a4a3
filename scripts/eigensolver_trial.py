"""The measurement behind the operator path's choice of eigensolver for λ_min (issue 22).

Builds the tangent kernel of a two-hidden-layer ReLU MLP (NTK parameterization, no bias, d = 32,
points on the sphere; the architecture of configs/large-n.toml, smaller) in numpy, exactly from
its per-layer factors, takes its exact spectrum (numpy.linalg.eigvalsh), and counts the
products K v that three methods need to approach λ_min:

- Lanczos with full reorthogonalization (what plstar runs on the operator);
- single-vector LOBPCG without a preconditioner, with Jacobi (diag K), and with the readout
  block plus a diagonal, P = U Uᵀ + diag(K − U Uᵀ), U = α⁽ᴸ⁾/√m the last hidden layer's
  features (the exact Jacobian block of the output weights), applied by Woodbury in O(n m).

Each line prints, at a number of products, the relative error of the estimate of λ_min and the
residual ‖K x − θ x‖ / λ_max. Usage: python3 scripts/eigensolver_trial.py N M [SEED]
(numpy only; N = 4096 takes about a minute on two cores).
"""
import sys

import numpy as np

n, m = int(sys.argv[1]), int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
d = 32
rng = np.random.default_rng(seed)
x = rng.standard_normal((n, d))
x /= np.linalg.norm(x, axis=1, keepdims=True)
w1, w2, v = rng.standard_normal((m, d)), rng.standard_normal((m, m)), rng.standard_normal(m)
h1 = x @ w1.T / np.sqrt(d)
a1 = np.maximum(h1, 0)
h2 = a1 @ w2.T / np.sqrt(m)
a2 = np.maximum(h2, 0)
g2 = v * (h2 > 0) / np.sqrt(m)
g1 = (g2 @ w2 / np.sqrt(m)) * (h1 > 0)
K = (g1 @ g1.T) * (x @ x.T) / d + (g2 @ g2.T) * (a1 @ a1.T) / m + a2 @ a2.T / m
ev = np.linalg.eigvalsh(K)
lmin, lmax = ev[0], ev[-1]
print(f"n = {n}, m = {m}: λ_max = {lmax:.4g}, λ_min = {lmin:.4g}, κ = {lmax / lmin:.3g}, "
      f"λ_2..λ_4 / λ_min = {np.round(ev[1:4] / lmin, 4)}")

U = a2 / np.sqrt(m)
D = np.diag(K) - np.sum(U * U, 1)
Dinv = 1 / D
C = np.linalg.cholesky(np.eye(m) + U.T @ (Dinv[:, None] * U))


def readout_preconditioner(r):
    y = Dinv * r
    z = np.linalg.solve(C.T, np.linalg.solve(C, U.T @ y))
    return y - Dinv * (U @ z)


marks = [25, 50, 100, 200, 300]
x0 = rng.standard_normal(n)


def lanczos():
    q = np.zeros((n, max(marks) + 1))
    q[:, 0] = x0 / np.linalg.norm(x0)
    alpha, beta, out = [], [], []
    for j in range(max(marks)):
        w = K @ q[:, j]
        alpha.append(q[:, j] @ w)
        for _ in range(2):
            w -= q[:, : j + 1] @ (q[:, : j + 1].T @ w)
        beta.append(np.linalg.norm(w))
        q[:, j + 1] = w / beta[-1]
        if j + 1 in marks:
            t = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
            theta, s = np.linalg.eigh(t)
            out.append((j + 1, theta[0], abs(beta[-1] * s[-1, 0])))
    return out


def lobpcg(precondition):
    xk = x0 / np.linalg.norm(x0)
    kx = K @ xk
    lam, p, kp, products, out = xk @ kx, None, None, 1, []
    while products <= max(marks):
        r = kx - lam * xk
        if products in marks:
            out.append((products, lam, np.linalg.norm(r)))
        w = precondition(r)
        kw = K @ w
        products += 1
        s = np.array([xk, w] + ([p] if p is not None else [])).T
        ks = np.array([kx, kw] + ([kp] if p is not None else [])).T
        li = np.linalg.inv(np.linalg.cholesky(s.T @ s))
        s, ks = s @ li.T, ks @ li.T
        a = s.T @ ks
        _, y = np.linalg.eigh((a + a.T) / 2)
        xn, kxn = s @ y[:, 0], ks @ y[:, 0]
        c = xk @ xn
        p, kp = xn - c * xk, kxn - c * kx
        norm = np.linalg.norm(xn)
        xk, kx = xn / norm, kxn / norm
        lam = xk @ kx
    return out


def show(name, rows):
    cells = " ".join(f"{k}: {(t - lmin) / lmin:.1e} / {r / lmax:.1e}" for k, t, r in rows)
    print(f"{name:16s} {cells}")


print("products: relative error of λ_min / residual ÷ λ_max")
show("lanczos", lanczos())
show("lobpcg", lobpcg(lambda r: r))
show("lobpcg jacobi", lobpcg(lambda r: r / np.diag(K)))
show("lobpcg readout", lobpcg(readout_preconditioner))
