//! The one host definition of every activation, and element-wise functions on host slices in
//! `f64`, written so that loops over them vectorize:
//! every activation's `σ`, `σ'`, `σ''` in closed form ([`Pointwise`], chosen once per loop by
//! [`visit`]); a branch-free [`tanh`] (the hidden activation of most runs, and the building block
//! of the sigmoid and softplus derivatives); and [`vectorized`], which compiles a loop for the
//! best vector instructions this CPU has through pulp's runtime dispatch (faer's own SIMD layer).
//!
//! libm's `tanh` is a scalar call (through `expm1`): 7–9 ns per value in a loop on the
//! development machine, and with it a third of the default `train` run's time (perf). [`tanh`]
//! gives the same values to 3 ulps (tested against libm on dense grids) in 2.1 ns per value
//! inside [`vectorized`] (AVX2 + FMA). Outside it, or on a CPU without FMA, `f64::mul_add` is
//! a software call and [`tanh`] is several times slower than libm: call it from vectorized
//! loops.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, LN_2, LOG2_E, PI};

use crate::model::Activation;

/// Below this `|x|`, [`tanh`] sums its Taylor series; above, it uses `exp(−2|x|)`.
const SERIES_LIMIT: f64 = 0.55;

/// The Taylor coefficients of `tanh x = Σ_k c_k x^{2k+1}`,
/// `c_k = 2^{2n} (2^{2n} − 1) B_{2n} / (2n)!` with `n = k + 1` (`B` the Bernoulli numbers),
/// rounded from exact rationals. Nineteen terms leave a truncation error below 5e-18 relative
/// at `|x| = 0.55` (the series converges for `|x| < π/2`).
const TANH_SERIES: [f64; 19] = [
    1.0,
    -0.3333333333333333,
    0.13333333333333333,
    -0.05396825396825397,
    0.021869488536155203,
    -0.008863235529902197,
    0.003592128036572481,
    -0.0014558343870513183,
    0.000590027440945586,
    -0.00023912911424355248,
    9.691537956929451e-05,
    -3.927832388331683e-05,
    1.5918905069328964e-05,
    -6.451689215655431e-06,
    2.6147711512907546e-06,
    -1.0597268320104654e-06,
    4.294911078273806e-07,
    -1.7406618963571648e-07,
    7.054636946400968e-08,
];

/// `ln 2` split so that `k · LN_2_HI` is exact for `|k| < 2¹¹` (Cody and Waite's reduction).
const LN_2_HI: f64 = 0.693_147_180_369_123_8;
const LN_2_LO: f64 = LN_2 - LN_2_HI;

/// `c₀ + x (c₁ + x (c₂ + …))`, written out as one expression (a loop inside the element loop
/// would keep it from vectorizing).
macro_rules! horner {
    ($x:expr; $c:expr) => { ($c as f64) };
    ($x:expr; $c:expr, $($rest:expr),+) => { f64::mul_add(horner!($x; $($rest),+), $x, $c) };
}

/// `1.5 · 2⁵²`: adding it rounds a float of magnitude below 2⁵¹ to an integer kept in the low
/// mantissa bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// `e^y` for `y ∈ [−708, 0]`, branch-free: `y = k ln 2 + r` with `|r| ≤ ln 2 / 2`, `e^r` by its
/// degree-13 Taylor polynomial (truncation below 5e-18 relative), and `2^k` built in the
/// exponent bits.
#[inline(always)]
fn exp_nonpositive(y: f64) -> f64 {
    let shifted = y * LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    let r = (y - k * LN_2_HI) - k * LN_2_LO;
    let p = horner!(
        r;
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0
    );
    // The low bits of `shifted` hold k (two's complement within the mantissa): shifting
    // `k + 1023` into the exponent field gives 2^k.
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * scale
}

/// `tanh x` in `f64` without branches (so that loops over it vectorize): the Taylor series for
/// `|x| < 0.55`, `(1 − E)/(1 + E)` with `E = e^{−2|x|}` above (no cancellation: `E ≤ 1/3`),
/// the sign restored at the end. Exact at 0 and ±∞, NaN for NaN; within a few ulps of libm
/// elsewhere (the tests give the bound).
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let a = x.abs();
    let u = a * a;
    let c = TANH_SERIES;
    let series = a * horner!(
        u; c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12],
        c[13], c[14], c[15], c[16], c[17], c[18]
    );
    let e = exp_nonpositive((-2.0 * a).max(-708.0));
    let large = (1.0 - e) / (1.0 + e);
    let t = if a < SERIES_LIMIT { series } else { large };
    if x.is_nan() {
        x
    } else {
        t.copysign(x)
    }
}

/// The logistic function `1 / (1 + e^{−x})`, as the model computes it: `(1 + tanh(x/2)) / 2`
/// (Burn's fused sigmoid loses precision in f64), through [`tanh`].
#[inline(always)]
pub fn logistic(x: f64) -> f64 {
    0.5 * (1.0 + tanh(0.5 * x))
}

/// An activation's `(σ(t), σ'(t), σ''(t))` at one point, inlined into the loops that call it
/// (callers that need fewer of the three let the compiler drop the rest).
pub trait Pointwise: Copy + Send + Sync {
    /// `(σ(t), σ'(t), σ''(t))`.
    fn eval(self, t: f64) -> (f64, f64, f64);
}

/// A computation generic over the activation, run by [`visit`] with the activation's
/// [`Pointwise`] type, so that each activation gets its own compiled loop.
pub trait Visit {
    /// What the computation returns.
    type Output;
    /// Runs with the activation `p`.
    fn visit<P: Pointwise>(self, p: P) -> Self::Output;
}

/// `(σ(t), σ'(t), σ''(t))` of `act` at one point (a `match` per call: for loops, [`visit`]).
pub fn evaluate(act: Activation, t: f64) -> (f64, f64, f64) {
    struct One(f64);
    impl Visit for One {
        type Output = (f64, f64, f64);
        fn visit<P: Pointwise>(self, p: P) -> (f64, f64, f64) {
            p.eval(self.0)
        }
    }
    visit(act, One(t))
}

/// Runs `v` with the [`Pointwise`] form of `act`.
pub fn visit<V: Visit>(act: Activation, v: V) -> V::Output {
    match act {
        Activation::Relu => v.visit(Relu),
        Activation::Tanh => v.visit(Tanh),
        Activation::Erf => v.visit(Erf),
        Activation::Softplus => v.visit(Softplus),
        Activation::Gelu => v.visit(Gelu),
        Activation::Sigmoid => v.visit(Sigmoid),
        Activation::Identity => v.visit(Identity),
    }
}

/// `max(t, 0)`: `σ'' = 0` away from the kink, as reverse mode differentiates it; `σ'(0) = 0`.
#[derive(Clone, Copy)]
struct Relu;
impl Pointwise for Relu {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        if t > 0.0 {
            (t, 1.0, 0.0)
        } else {
            (0.0, 0.0, 0.0)
        }
    }
}

/// `tanh t`: `σ' = 1 − σ²`, `σ'' = −2 σ σ'`.
#[derive(Clone, Copy)]
struct Tanh;
impl Pointwise for Tanh {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        let s = tanh(t);
        let d = 1.0 - s * s;
        (s, d, -2.0 * s * d)
    }
}

/// `erf t`: `σ' = (2/√π) e^{−t²}`, `σ'' = −2t σ'`.
#[derive(Clone, Copy)]
struct Erf;
impl Pointwise for Erf {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        let d = 2.0 / PI.sqrt() * (-t * t).exp();
        (erf(t), d, -2.0 * t * d)
    }
}

/// `log(1 + eᵗ)` as `max(t, 0) + log1p(e^{−|t|})`; `σ'` the logistic function `s`, `σ'' = s(1 − s)`.
#[derive(Clone, Copy)]
struct Softplus;
impl Pointwise for Softplus {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        let s = logistic(t);
        (t.max(0.0) + (-t.abs()).exp().ln_1p(), s, s * (1.0 - s))
    }
}

/// `t Φ(t)`: `σ' = Φ + t φ`, `σ'' = φ (2 − t²)`.
#[derive(Clone, Copy)]
struct Gelu;
impl Pointwise for Gelu {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        let cdf = 0.5 * (1.0 + erf(t * FRAC_1_SQRT_2));
        let pdf = (-0.5 * t * t).exp() / (2.0 * PI).sqrt();
        (t * cdf, cdf + t * pdf, pdf * (2.0 - t * t))
    }
}

/// The logistic function `s`: `σ' = s(1 − s)`, `σ'' = σ'(1 − 2s)`.
#[derive(Clone, Copy)]
struct Sigmoid;
impl Pointwise for Sigmoid {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        let s = logistic(t);
        let d = s * (1.0 - s);
        (s, d, d * (1.0 - 2.0 * s))
    }
}

/// `t`.
#[derive(Clone, Copy)]
struct Identity;
impl Pointwise for Identity {
    #[inline(always)]
    fn eval(self, t: f64) -> (f64, f64, f64) {
        (t, 1.0, 0.0)
    }
}

/// The error function in f64, to ≤ 6 ulps (measured against libm): for `|x| < 2.5` the series
/// `erf(x) = (2/√π) x e^{−x²} Σ_k (2x²)ᵏ/(1·3···(2k+1))` (positive terms, no cancellation); for
/// `2.5 ≤ |x| < 6` `1 − erfc(x)` with `erfc(x) = e^{−x²}/(√π K(x))` and Laplace's continued
/// fraction `K(x) = x + (1/2)/(x + 1/(x + (3/2)/(x + …)))` (modified Lentz); ±1 beyond
/// (`erfc(6) < 10⁻¹⁶`).
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let value = if a < 2.5 {
        let (y, mut term, mut sum) = (2.0 * a * a, 1.0f64, 1.0f64);
        let mut k = 0.0;
        while term > 1e-17 * sum {
            k += 1.0;
            term *= y / (2.0 * k + 1.0);
            sum += term;
        }
        FRAC_2_SQRT_PI * a * (-a * a).exp() * sum
    } else if a < 6.0 {
        let (mut f, mut c, mut d) = (a, a, 0.0f64);
        for j in 1..200 {
            let aj = 0.5 * j as f64;
            d = 1.0 / (a + aj * d);
            c = a + aj / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - (-a * a).exp() / (PI.sqrt() * f)
    } else {
        1.0
    };
    value.copysign(x)
}

/// A loop to compile for this CPU's vector instructions: implement [`Loop::run`] with
/// `#[inline(always)]` and pass it to [`vectorized`].
pub trait Loop {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn run(self) -> Self::Output;
}

/// Runs `body` compiled for the best vector instruction set of this CPU (pulp's runtime
/// dispatch: AVX2 and FMA on x86-64 when present, the baseline otherwise), so that branch-free
/// element loops inside it vectorize. `body.run` must be `#[inline(always)]`: a closure is
/// compiled apart, without the instruction set (measured). The arithmetic is the same on every
/// path: no fused multiply-add is introduced (Rust does not contract `a * b + c`).
#[inline(always)]
pub fn vectorized<L: Loop>(body: L) -> L::Output {
    struct Body<L>(L);
    impl<L: Loop> pulp::WithSimd for Body<L> {
        type Output = L::Output;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> L::Output {
            self.0.run()
        }
    }
    pulp::Arch::new().dispatch(Body(body))
}
