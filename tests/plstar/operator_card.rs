//! The theorem card on the operator path (issue 22, point 5): the constants at `w₀` from the
//! matrix-free operator, against the dense card of the same point.

use plstar::data::{self, SyntheticTarget};
use plstar::measure::hessian::hessian_operator_norm_from;
use plstar::model::{Activation, MlpConfig};
use plstar::theorem::card::{
    operator_card, searched_hessian_settings, theorem_card, CardSettings, CertificateState,
    OperatorKernel0,
};
use plstar::theorem::proved::ProofState;
use plstar::theorem::search::SearchSettings;

use crate::F64;

/// A network of `cfg` at seed `seed` on `n` sphere points (teacher targets, data seed `data`),
/// as f64 tensors.
fn problem(
    cfg: &MlpConfig,
    n: usize,
    seed: u64,
    data: u64,
) -> (
    plstar::model::Mlp<F64>,
    burn::tensor::Tensor<F64, 2>,
    burn::tensor::Tensor<F64, 1>,
) {
    let device = Default::default();
    let (x, y) = data::sphere(n, cfg.input_dim, SyntheticTarget::Teacher, data).to_tensors(&device);
    (cfg.init::<F64>(seed, &device), x, y)
}

/// n = 24 (Lanczos spans the whole space, so the operator's λ₀ and λ_max are exact up to
/// round-off), erf, one hidden layer of 40, f64. Against the dense card at the same `w₀`:
/// λ₀ and λ_max to 1e-9 relative, tr K, max K_ii, ‖r₀‖, L(w₀), R(w₀) to 1e-9. ‖H_F(w₀)‖ is at
/// most the proved bound β̄_F(0) of THEORY.md's worked case (an independent upper bound), and it
/// is the alternation the card documents (uniform start, the searched points' settings: this
/// checks the wiring, not the numerics, which the blocked-product test covers). The states say
/// what was not done: the certificate is `none` ("not searched"), the proof `not applicable`
/// with λ₀⁻ = 0 and no upper bound on λ_max, and the residuals are recorded.
#[test]
fn operator_card_has_the_dense_cards_constants_at_w0_and_claims_no_certificate() {
    let cfg = MlpConfig::new(5, vec![40]).with_activation(Activation::Erf);
    let (model, x, y) = problem(&cfg, 24, 1, 3);
    let settings = CardSettings {
        search: SearchSettings {
            restarts: 1,
            steps: 1,
            seed: 0,
        },
        max_radii: 2,
        ..CardSettings::default()
    };
    let dense = theorem_card(&model, &x, &y, &settings).unwrap();
    let kernel0 = OperatorKernel0::at(&model, &x, 300, usize::MAX);
    let card = operator_card(&model, &x, &y, kernel0, &mut |_| {}).unwrap();

    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    for (name, a, b) in [
        ("λ₀", card.lambda0, dense.lambda0),
        ("λ_max", card.lambda_max0, dense.lambda_max0),
        ("tr K", card.trace0, dense.trace0),
        (
            "max K_ii",
            card.max_kernel_diagonal0,
            dense.max_kernel_diagonal0,
        ),
        ("‖r₀‖", card.residual_norm0, dense.residual_norm0),
        ("L(w₀)", card.loss0, dense.loss0),
        ("R(w₀)", card.radius0, dense.radius0),
    ] {
        assert!(rel(a, b) < 1e-9, "{name}: {a} vs dense {b}");
    }
    assert!(dense.operator_residuals0.is_none());
    let residuals = card
        .operator_residuals0
        .as_ref()
        .expect("operator residuals");
    assert!(residuals.converged && residuals.min <= 1e-8 * card.lambda_max0);

    let hessian = hessian_operator_norm_from(&model, &x, &searched_hessian_settings(), None);
    assert!(rel(card.hessian_norm0, hessian.value) < 1e-12);
    let proved = card.proved.as_ref().unwrap();
    let bound = proved
        .bound
        .at(0.0)
        .expect("erf, one hidden layer: the bound applies");
    assert!(
        card.hessian_norm0 > 0.0 && card.hessian_norm0 <= bound,
        "{} > β̄_F(0) = {bound}",
        card.hessian_norm0
    );
    let eta = 1.0 / (card.lambda_max0 + card.hessian_norm0 * card.residual_norm0);
    assert!(rel(card.eta_star(), eta) < 1e-15);

    assert_eq!(card.certificate.state, CertificateState::None);
    assert!(!card.certificate.certified);
    assert!(
        card.certificate.reason.contains("not searched"),
        "{}",
        card.certificate.reason
    );
    assert!(card.profile.is_empty());
    assert_eq!(proved.state, ProofState::NotApplicable);
    assert_eq!(proved.lambda0_lower, 0.0);
    assert_eq!(proved.lambda_max_upper, f64::INFINITY);
    assert!(
        proved.reason.contains("upper estimate"),
        "{}",
        proved.reason
    );
    assert!(card.linearized_distance.is_nan());
}

/// Under-parameterized on the operator path (p = 3·4 + 4 = 16 < n = 30): the certificate says
/// "not certifiable" with the rank argument, as the dense card does, not "not searched".
#[test]
fn operator_card_of_an_underparameterized_network_is_not_certifiable() {
    let cfg = MlpConfig::new(3, vec![4]).with_activation(Activation::Tanh);
    let (model, x, y) = problem(&cfg, 30, 0, 4);
    let kernel0 = OperatorKernel0::at(&model, &x, 100, usize::MAX);
    let card = operator_card(&model, &x, &y, kernel0, &mut |_| {}).unwrap();
    let reason = &card.certificate.reason;
    assert!(
        reason.contains("not certifiable") && reason.contains("p = 16"),
        "{reason}"
    );
}
