//! The theorem card, its certificate, the SGD rule and the verdicts, against models whose answer
//! is known.

use burn::tensor::Tensor;
use plstar::data::{self, Dataset, SyntheticTarget};
use plstar::measure::kernel::{tangent_kernel, KernelMethod};
use plstar::measure::roundoff::RoundOff;
use plstar::measure::spectrum::{bottom_eigenpair, dense_spectrum};
use plstar::model::{download, Activation, Mlp, MlpConfig};
use plstar::theorem::card::{theorem_card, travelled_ball, CardSettings, TheoremCard};
use plstar::theorem::search::{eigenvalue_gradient, BallSearch, Extreme, SearchSettings};
use plstar::theorem::step_size::sgd_step_size;
use plstar::theorem::verdict::{judge, RunRecords, RunVerdicts, VerdictState};
use plstar::train::{train, Control, Optimizer, StepRecord, StopReason, TrainSettings};

use crate::{F32, F64};

/// A cheap search: the tests need the certificate's logic, not its best effort.
fn quick() -> CardSettings {
    CardSettings {
        search: SearchSettings {
            restarts: 3,
            steps: 3,
            seed: 0,
        },
        // β̂_F at the searched points: a card that measures it at w₀ alone certifies nothing.
        hessian_at_searched: true,
        ..CardSettings::default()
    }
}

/// `n` orthonormal inputs `e_i ∈ ℝⁿ` with targets of both signs: for one hidden layer without
/// bias the infinite-width kernel is diagonal, so `λ₀` is large and the theorem's ball small.
fn orthogonal(n: usize) -> Dataset {
    let mut inputs = vec![0.0; n * n];
    for i in 0..n {
        inputs[i * n + i] = 1.0;
    }
    let targets = (0..n)
        .map(|i| if i % 2 == 0 { 0.5 } else { -0.4 })
        .collect();
    Dataset::new(inputs, targets, n).unwrap()
}

fn gd_run<'a>(
    records: &'a [StepRecord],
    eta: f64,
    stop: &'a StopReason,
    target: f64,
) -> RunRecords<'a> {
    RunRecords {
        records,
        eta,
        target_loss: target,
        stop,
        optimizer: &Optimizer::Gd,
        // The f64 networks below have widths ≤ 4096 and n ≤ 40; n and p only scale the
        // round-off tolerances, far below every quantity these tests compare.
        round_off: RoundOff::f64(4096, 1),
        equations: 40,
        parameters: 40_000,
    }
}

fn state(v: &RunVerdicts, prefix: &str) -> VerdictState {
    v.verdicts
        .iter()
        .find(|v| v.check.starts_with(prefix))
        .unwrap_or_else(|| panic!("no verdict {prefix}: {v:#?}"))
        .state
}

#[test]
fn linear_model_has_a_flat_mu_profile_and_the_closed_form_certificate() {
    // F(w) = X w / √d: K = X Xᵀ / d everywhere, so μ̂(r) = λ_min(K) at every radius, L̂_F² =
    // λ_max, β̂_F = 0, the certified radius is R = 2 √λ_max ‖r₀‖ / λ_min and η* = 1/λ_max.
    // With r₀ along the bottom eigenvector v, r_t = (1 − η λ_min)^t r₀ exactly.
    let (n, d) = (6, 10);
    let base = data::sphere(n, d, SyntheticTarget::Sign, 2);
    let cfg = MlpConfig::new(d, vec![]).with_activation(Activation::Identity);
    let device = Default::default();
    let model = cfg.init::<F64>(1, &device);
    let (x, _) = base.to_tensors::<F64>(&device);
    let k = tangent_kernel(&model, &x, KernelMethod::Structured);
    let spec = dense_spectrum(&k).unwrap();
    let (_, v) = bottom_eigenpair(&k).unwrap();
    let f0 = download(model.forward(x.clone()));
    let targets: Vec<f64> = f0.iter().zip(&v).map(|(f, vi)| f - 2.0 * vi).collect();
    let data = Dataset::new(base.inputs.clone(), targets, d).unwrap();
    let (x, y) = data.to_tensors::<F64>(&device);

    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(card.profile.len() >= 3, "{:#?}", card.profile);
    for e in &card.profile {
        assert!(
            rel(e.mu, spec.lambda_min) < 1e-10,
            "μ̂({}) = {}",
            e.radius,
            e.mu
        );
        assert!(rel(e.lipschitz_f.powi(2), spec.lambda_max) < 1e-10);
        assert_eq!(e.beta_f, 0.0, "a linear model has no curvature");
    }
    let c = &card.certificate;
    assert!(c.certified, "{}", c.reason);
    let closed = 2.0 * spec.lambda_max.sqrt() * 2.0 / spec.lambda_min; // ‖r₀‖ = 2
    assert!(
        rel(c.radius.unwrap(), closed) < 1e-10,
        "{:?} vs {closed}",
        c.radius
    );
    assert!(rel(c.eta_star.unwrap(), 1.0 / spec.lambda_max) < 1e-10);

    let eta = card.eta_star();
    let settings = TrainSettings {
        eval_every: 10,
        ..TrainSettings::gd(40, eta, 0.0)
    };
    let reference = plstar::experiment::run::theorem_reference(&card);
    let out = train(model.clone(), &x, &y, &settings, reference, &mut |_| {
        Control::Continue
    });
    let q = 1.0 - eta * spec.lambda_min;
    for r in &out.records {
        let exact = q.powi(2 * r.step as i32) * card.loss0;
        assert!(
            rel(r.loss, exact) < 1e-9,
            "step {}: {} vs {exact}",
            r.step,
            r.loss
        );
        assert!(r.loss <= r.loss_bound.unwrap());
        // Along v the PL ratio equals λ_min exactly: the PL* inequality is tight.
        assert!(rel(r.pl_ratio, spec.lambda_min) < 1e-9);
    }
    let v = judge(
        Some(&card),
        None,
        &gd_run(&out.records, eta, &out.stop, 0.0),
    );
    assert_eq!(
        state(&v, "stayed in the certified ball"),
        VerdictState::Pass
    );
    assert_eq!(state(&v, "certified rate bound"), VerdictState::Pass);
    // The proof: β̄_F = 0, so the proved radius is the closed form with λ₀ − φ and λ_max + φ,
    // "auto" takes η̄* = 1/(λ_max + φ), and GD along v passes both proved verdicts.
    let proved = card.proved.as_ref().unwrap();
    assert!(proved.proved(), "{}", proved.reason);
    let phi = card.positivity_threshold;
    let closed = 2.0 * (spec.lambda_max + phi).sqrt() * 2.0 / (spec.lambda_min - phi);
    assert!(rel(proved.radius.unwrap(), closed) < 1e-10);
    assert!(
        rel(eta, 1.0 / (spec.lambda_max + phi)) < 1e-12,
        "auto takes the proved η̄*"
    );
    assert_eq!(state(&v, "stayed in the proved ball"), VerdictState::Pass);
    assert_eq!(state(&v, "proved rate bound"), VerdictState::Pass);
}

#[test]
fn the_eigenvalue_gradient_matches_central_differences_in_f64() {
    // ∇λ_min = 2 H(v) DFᵀv against (λ_min(w + h e_j) − λ_min(w − h e_j)) / 2h for every j:
    // truncation O(h²) ≈ 1e-10 and round-off O(ε/h) ≈ 1e-11 relative at h = 1e-5.
    let data = data::sphere(3, 3, SyntheticTarget::Teacher, 1);
    let cfg = MlpConfig::new(3, vec![6])
        .with_activation(Activation::Tanh)
        .with_bias(true);
    let device = Default::default();
    let model = cfg.init::<F64>(4, &device);
    let (x, _) = data.to_tensors::<F64>(&device);
    let lambda_min = |w: &[f64]| {
        let m = Mlp::<F64>::from_vector(&cfg, w, &device).unwrap();
        bottom_eigenpair(&tangent_kernel(&m, &x, KernelMethod::Structured)).unwrap()
    };
    let w = model.to_vector();
    let (_, v) = lambda_min(&w);
    let exact = eigenvalue_gradient(&model, &x, &v);
    let h = 1e-5;
    let fd: Vec<f64> = (0..w.len())
        .map(|j| {
            let mut plus = w.clone();
            let mut minus = w.clone();
            plus[j] += h;
            minus[j] -= h;
            (lambda_min(&plus).0 - lambda_min(&minus).0) / (2.0 * h)
        })
        .collect();
    let err = crate::relative_error(&exact, &fd);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn mu_is_non_increasing_in_r_and_the_search_beats_random_probes_on_a_narrow_net() {
    let data = data::sphere(6, 4, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(4, vec![16]).with_activation(Activation::Tanh);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    assert!(card.profile.len() >= 3);
    for pair in card.profile.windows(2) {
        assert!(pair[1].mu <= pair[0].mu, "{:?}", card.profile);
        assert!(pair[1].lipschitz_f >= pair[0].lipschitz_f);
    }
    // Same radius, the same number of kernel evaluations: the search against random points.
    let r = card.profile[card.profile.len() / 2].radius;
    let w0 = model.to_vector();
    let g = plstar::measure::loss::loss_gradient(&model, &x, &y).to_vector();
    let settings = SearchSettings {
        restarts: 2,
        steps: 6,
        seed: 3,
    };
    let searched = BallSearch::new(&cfg, &w0, &x, &g, &settings)
        .search(r, Extreme::Bottom, None)
        .unwrap();
    let random_min = random_probe_minimum(&cfg, &w0, &x, r, searched.points.len());
    assert!(
        searched.value < random_min,
        "search {} vs random {random_min} at r = {r}",
        searched.value
    );
}

/// The smallest `λ_min(K)` over `count` random points on the sphere of radius `r` around `w0`.
fn random_probe_minimum(
    cfg: &MlpConfig,
    w0: &[f64],
    x: &Tensor<F64, 2>,
    r: f64,
    count: usize,
) -> f64 {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    (0..count)
        .map(|_| {
            let u: Vec<f64> = (0..w0.len())
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            let nu = u.iter().map(|a| a * a).sum::<f64>().sqrt();
            let w: Vec<f64> = w0.iter().zip(&u).map(|(a, b)| a + r * b / nu).collect();
            let m = Mlp::<F64>::from_vector(cfg, &w, &x.device()).unwrap();
            bottom_eigenpair(&tangent_kernel(&m, x, KernelMethod::Structured))
                .unwrap()
                .0
        })
        .fold(f64::INFINITY, f64::min)
}

/// A wide erf network on orthogonal data, its card and a GD run at the certified η*.
fn certified_run() -> (TheoremCard, Vec<StepRecord>, StopReason, f64) {
    let data = orthogonal(8);
    let cfg = MlpConfig::new(8, vec![4096]).with_activation(Activation::Erf);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    assert!(card.certificate.certified, "{}", card.certificate.reason);
    let eta = card.eta_star();
    let settings = TrainSettings {
        eval_every: 25,
        ..TrainSettings::gd(2000, eta, 1e-6)
    };
    let reference = plstar::experiment::run::theorem_reference(&card);
    let out = train(model.clone(), &x, &y, &settings, reference, &mut |_| {
        Control::Continue
    });
    (card, out.records, out.stop, eta)
}

#[test]
fn a_certified_wide_run_passes_and_a_run_forced_past_its_ball_fails() {
    let (card, records, stop, eta) = certified_run();
    let v = judge(Some(&card), None, &gd_run(&records, eta, &stop, 1e-6));
    for prefix in [
        "stayed in the certified ball",
        "certified rate bound",
        "reached",
    ] {
        assert_eq!(state(&v, prefix), VerdictState::Pass, "{prefix}: {v:#?}");
    }
    assert!(v.none_failed(), "{v:#?}");
    // The same run with its distances pushed past R_c (the theorem says GD cannot get there).
    let rc = card.certificate.radius.unwrap();
    let forced: Vec<StepRecord> = records
        .iter()
        .map(|r| StepRecord {
            distance_from_init: r.distance_from_init + 1.01 * rc,
            ..*r
        })
        .collect();
    let v = judge(Some(&card), None, &gd_run(&forced, eta, &stop, 1e-6));
    assert_eq!(
        state(&v, "stayed in the certified ball"),
        VerdictState::Fail
    );
}

#[test]
fn certified_verdicts_are_not_applicable_above_eta_star_without_a_certificate_and_for_p_below_n() {
    // η > η*: the theorem says nothing; the verdicts say so instead of passing or failing.
    let (card, records, stop, eta) = certified_run();
    let v = judge(Some(&card), None, &gd_run(&records, 2.0 * eta, &stop, 1e-6));
    assert_eq!(
        state(&v, "stayed in the certified ball"),
        VerdictState::NotApplicable
    );
    assert_eq!(
        state(&v, "certified rate bound"),
        VerdictState::NotApplicable
    );

    // A narrow network on the same data: no certificate.
    let data = orthogonal(8);
    let device = Default::default();
    let (x, y) = data.to_tensors::<F64>(&device);
    let narrow = MlpConfig::new(8, vec![16]).with_activation(Activation::Erf);
    let card = theorem_card(&narrow.init::<F64>(0, &device), &x, &y, &quick()).unwrap();
    assert!(!card.certificate.certified, "{}", card.certificate.reason);
    assert!(card.certificate.reason.contains("not certified"));
    let v = judge(Some(&card), None, &gd_run(&records, eta, &stop, 1e-6));
    assert_eq!(
        state(&v, "stayed in the certified ball"),
        VerdictState::NotApplicable
    );
    assert_eq!(
        state(&v, "the certificate's search"),
        VerdictState::NotApplicable
    );

    // p < n: not certifiable, for the rank, and not searched.
    let data = data::sphere(40, 3, SyntheticTarget::Sign, 0);
    let (x, y) = data.to_tensors::<F64>(&device);
    let under = MlpConfig::new(3, vec![3]); // p = 3·3 + 3 = 12 < n = 40
    let model = under.init::<F64>(0, &device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    assert!(!card.certificate.certified);
    assert!(card.profile.is_empty(), "p < n is not searched");
    assert!(
        card.certificate.reason.contains("rank K ≤ p = 12 < n = 40"),
        "{}",
        card.certificate.reason
    );
    let settings = TrainSettings::gd(1500, card.eta_star(), 1e-6);
    let out = train(model.clone(), &x, &y, &settings, None, &mut |_| {
        Control::Continue
    });
    assert_eq!(
        out.stop,
        StopReason::StepBudget,
        "the loss must not reach the target"
    );
    let r_t = plstar::experiment::run::max_distance(&out.records);
    let t = travelled_ball(&card, &model, &x, &y, r_t, &[], &quick().search).unwrap();
    let v = judge(
        Some(&card),
        Some(&t),
        &gd_run(&out.records, card.eta_star(), &out.stop, 1e-6),
    );
    assert_eq!(
        state(&v, "stayed in the certified ball"),
        VerdictState::NotApplicable
    );
    assert_eq!(state(&v, "PL* on the travelled ball"), VerdictState::Fail);
    assert_eq!(
        state(&v, "rate bound with μ̂(r_T)"),
        VerdictState::NotApplicable
    );
}

#[test]
fn an_f32_model_with_p_below_n_is_never_certified() {
    // In f32 the zero eigenvalues of a rank-deficient K come out as round-off of order
    // 1e-7 λ_max, not exactly 0: the rank and the precision-scaled threshold must catch them.
    let data = data::sphere(24, 3, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(3, vec![4]); // p = 16 < n = 24
    let device = Default::default();
    let (x, y) = data.to_tensors::<F32>(&device);
    let card = theorem_card(&cfg.init::<F32>(0, &device), &x, &y, &quick()).unwrap();
    assert!(!card.certificate.certified);
    assert!(
        card.certificate.reason.contains("rank K"),
        "{}",
        card.certificate.reason
    );
    assert!(card.positivity_threshold > 1e-7 * card.lambda_max0);
}

#[test]
fn the_sgd_rule_equals_its_closed_form_on_a_linear_model_and_never_exceeds_eta_star() {
    // Linear model: η* = 1/λ_max(XXᵀ/d) exactly, so η_SGD(b) = b / (λ_max (n + b − 1)).
    let (n, d) = (8, 12);
    let data = data::sphere(n, d, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(d, vec![]).with_activation(Activation::Identity);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    let lambda_max = dense_spectrum(&tangent_kernel(&model, &x, KernelMethod::Structured))
        .unwrap()
        .lambda_max;
    for b in 1..=n {
        let want = b as f64 / (lambda_max * (n + b - 1) as f64);
        let got = sgd_step_size(&card, b);
        assert!(
            (got - want).abs() <= 1e-12 * want,
            "b = {b}: {got} vs {want}"
        );
        assert!(got <= card.eta_star(), "b = {b}");
    }
}

#[test]
fn sgd_reaches_the_target_on_a_repeatable_seeded_path() {
    let data = data::sphere(16, 32, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(32, vec![512]).with_activation(Activation::Tanh);
    let device = Default::default();
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&cfg.init::<F64>(0, &device), &x, &y, &quick()).unwrap();
    let eta = sgd_step_size(&card, 4);
    let run = |seed: u64| {
        let settings = TrainSettings {
            optimizer: Optimizer::Sgd {
                batch_size: 4,
                shuffle: true,
            },
            seed,
            ..TrainSettings::gd(20_000, eta, 1e-4)
        };
        train(
            cfg.init::<F64>(0, &device),
            &x,
            &y,
            &settings,
            None,
            &mut |_| Control::Continue,
        )
    };
    let a = run(7);
    assert!(
        matches!(a.stop, StopReason::TargetReached { .. }),
        "{:?}, last loss {}",
        a.stop,
        a.records.last().unwrap().loss
    );
    assert!(
        a.records.iter().all(|r| r.linearization_gap.is_none()),
        "the linearized model follows gradient descent, not SGD"
    );
    let b = run(7);
    assert_eq!(a.records, b.records, "same seed, same path");
    let c = run(8);
    assert_ne!(
        a.records[1..].iter().map(|r| r.loss).collect::<Vec<_>>(),
        c.records[1..].iter().map(|r| r.loss).collect::<Vec<_>>()
    );
}

#[test]
fn a_step_far_above_eta_star_diverges_and_stops_within_one_step() {
    let data = data::sphere(16, 8, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(8, vec![256]).with_activation(Activation::Tanh);
    let device = Default::default();
    let (x, y) = data.to_tensors::<F64>(&device);
    let model = cfg.init::<F64>(0, &device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    let settings = TrainSettings::gd(10_000, 1000.0 * card.eta_star(), 0.0);
    let out = train(model, &x, &y, &settings, None, &mut |_| Control::Continue);
    let StopReason::Diverged { step, .. } = out.stop else {
        panic!("{:?}", out.stop)
    };
    assert_eq!(
        out.records.len(),
        step,
        "stopped at the first bad step, every record before kept"
    );
    let l0 = out.records[0].loss;
    assert!(out
        .records
        .iter()
        .all(|r| r.loss.is_finite() && r.loss <= 1e6 * l0));
    assert!(step < 100, "divergence caught early (step {step})");
    assert!(
        out.model.to_vector().iter().all(|v| v.is_finite()),
        "the returned model is the last finite one"
    );
}

#[test]
fn a_run_that_took_no_step_passes_no_verdict() {
    // steps = 0: B(w₀, 0) is one point; the ball, rate, travelled-ball, PL-ratio and search
    // checks would pass vacuously (L₀ ≤ L₀, 0 ≤ R_c). None may pass.
    let data = orthogonal(8);
    let cfg = MlpConfig::new(8, vec![4096]).with_activation(Activation::Erf);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&model, &x, &y, &quick()).unwrap();
    assert!(card.certificate.certified, "{}", card.certificate.reason);
    let settings = TrainSettings {
        eval_every: 1,
        ..TrainSettings::gd(0, card.eta_star(), 1e-6)
    };
    let reference = plstar::experiment::run::theorem_reference(&card);
    let out = train(model.clone(), &x, &y, &settings, reference, &mut |_| {
        Control::Continue
    });
    assert_eq!(out.records.len(), 1);
    let t = travelled_ball(&card, &model, &x, &y, 0.0, &[], &quick().search).unwrap();
    let v = judge(
        Some(&card),
        Some(&t),
        &gd_run(&out.records, card.eta_star(), &out.stop, 1e-6),
    );
    for verdict in &v.verdicts {
        assert_ne!(verdict.state, VerdictState::Pass, "{verdict:#?}");
    }
    assert_eq!(
        state(&v, "PL* on the travelled ball"),
        VerdictState::NotApplicable
    );
    assert!(v
        .verdicts
        .iter()
        .filter(|v| v.state == VerdictState::NotApplicable)
        .all(|v| !v.reason.is_empty()));
}

#[test]
fn pathwise_rate_verdicts_are_not_applicable_for_sgd_and_above_eta_mu_one() {
    let (card, records, stop, eta) = certified_run();
    let r_t = plstar::experiment::run::max_distance(&records);
    let t = plstar::theorem::card::TravelledBall {
        radius: r_t,
        mu: card.certificate.mu.unwrap(),
        points: 1,
        searched: false,
    };
    // GD at η*: applies (and holds).
    let v = judge(Some(&card), Some(&t), &gd_run(&records, eta, &stop, 1e-6));
    assert_eq!(state(&v, "rate bound with μ̂(r_T)"), VerdictState::Pass);
    // η μ̂ > 1: the bound (1 − ημ̂)^t would be clamped or alternate; the theorem says nothing.
    let big = 2.0 / t.mu;
    let v = judge(Some(&card), Some(&t), &gd_run(&records, big, &stop, 1e-6));
    let rate = v
        .verdicts
        .iter()
        .find(|v| v.check.starts_with("rate bound with μ̂(r_T)"))
        .unwrap();
    assert_eq!(rate.state, VerdictState::NotApplicable);
    assert!(rate.reason.contains("> 1"), "{}", rate.reason);
    // SGD: the theorem's SGD statement is in expectation, not along one path.
    let sgd = Optimizer::Sgd {
        batch_size: 2,
        shuffle: true,
    };
    let run = RunRecords {
        optimizer: &sgd,
        ..gd_run(&records, eta, &stop, 1e-6)
    };
    let v = judge(Some(&card), Some(&t), &run);
    for prefix in ["rate bound with μ̂(r_T)", "certified rate bound"] {
        let verdict = v
            .verdicts
            .iter()
            .find(|v| v.check.starts_with(prefix))
            .unwrap();
        assert_eq!(verdict.state, VerdictState::NotApplicable, "{verdict:#?}");
        assert!(verdict.reason.contains("SGD"), "{}", verdict.reason);
    }
}

#[test]
fn an_undefined_pl_ratio_is_not_counted_as_holding() {
    // L = 0 gives ‖∇L‖²/(2L) = 0/0 = NaN; `NaN < λ_min` is false, so a naive check passes it.
    let (_, records, stop, eta) = certified_run();
    let nan_records: Vec<StepRecord> = records
        .iter()
        .map(|r| StepRecord {
            pl_ratio: f64::NAN,
            ..*r
        })
        .collect();
    let v = judge(None, None, &gd_run(&nan_records, eta, &stop, 1e-6));
    assert_eq!(state(&v, "PL ratio"), VerdictState::NotApplicable);
}

#[test]
fn a_round_off_mu_of_a_tanh_output_layer_is_classified_as_round_off() {
    // sweep-width's tanh-output rows at width 4096 (orthonormal inputs, n = 8, erf hidden
    // layer). The search saturates the output: λ_min(K) falls 1.2e-13 → 3.3e-14 → 3.5e-15 →
    // 3.2e-15 along the descent at r = 16 (λ_max ≈ 0.27; real, tiny eigenvalues, κ ≈ 10¹⁴, far
    // above the eigensolver's u λ_max ≈ 3e-17), and to ±1e-17 at r ≈ 18.5: round-off. The
    // round-off floor (≈ 1.7e-15 here) must put the second below it and say so in the reason.
    let data = data::orthogonal(8, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(8, vec![4096])
        .with_activation(Activation::Erf)
        .with_output_activation(Activation::Tanh);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let settings = CardSettings {
        extra_radii: vec![16.0, 24.0],
        search_past_certificate: true,
        ..quick()
    };
    let card = theorem_card(&model, &x, &y, &settings).unwrap();
    let mu_at = |r: f64| {
        card.profile
            .iter()
            .find(|e| (e.radius - r).abs() < 1e-12)
            .unwrap()
            .mu
    };
    let floor = card.positivity_threshold;
    assert!(
        mu_at(16.0) > floor,
        "μ̂(16) = {:.3e} vs floor {floor:.3e}",
        mu_at(16.0)
    );
    assert!(
        mu_at(24.0).abs() <= floor,
        "μ̂(24) = {:.3e} vs floor {floor:.3e}",
        mu_at(24.0)
    );
    assert!(!card.is_positive(mu_at(24.0)));
    assert!(!card.certificate.certified);
    assert!(
        card.certificate
            .reason
            .contains("at or below the round-off floor"),
        "{}",
        card.certificate.reason
    );
}

/// Above the dense limit (N = n·k = 1 100 > 1 024: 110 digit images in 10 classes) the card
/// measures by Lanczos and a Cholesky factor, never a dense eigendecomposition. Oracle: faer's
/// dense solver on the same kernels — λ₀ to 1e-7 relative (Lanczos on K⁻¹ stops at 1e-7),
/// λ_max to 1e-8, the linearized distance √(r₀ᵀK₀⁻¹r₀) to 1e-9, and at the best point of every
/// searched ball the dense λ_min equals a λ_min the card recorded, to 1e-7.
#[test]
fn card_above_the_dense_limit_matches_the_dense_eigensolver() {
    use plstar::data::{Encoding, Normalization};
    let classes: Vec<u8> = (0..10).collect();
    let data = data::digits_encoded(
        &classes,
        Encoding::Centered,
        Some(110),
        Normalization::Standardize,
        0,
    )
    .unwrap();
    let cfg = MlpConfig::new(64, vec![64])
        .with_activation(Activation::Erf)
        .with_outputs(10)
        .with_bias(true)
        .with_bias_scale(0.1);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let settings = CardSettings {
        search: SearchSettings {
            restarts: 1,
            steps: 1,
            seed: 0,
        },
        max_radii: 2,
        per_output_hessian: false,
        ..CardSettings::default()
    };
    let card = theorem_card(&model, &x, &y, &settings).unwrap();
    assert_eq!(card.n, 1100);
    let k0 = tangent_kernel(&model, &x, KernelMethod::Structured);
    let spec = dense_spectrum(&k0).unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(
        rel(card.lambda0, spec.lambda_min) < 1e-7,
        "λ₀ {} vs {}",
        card.lambda0,
        spec.lambda_min
    );
    assert!(rel(card.lambda_max0, spec.lambda_max) < 1e-8);
    let r0 = download(model.forward(x.clone()) - y.clone());
    let eig = plstar::measure::spectrum::symmetric_eigen(&k0).unwrap();
    let d_lin = eig
        .values
        .iter()
        .zip(&eig.vectors)
        .map(|(l, u)| u.iter().zip(&r0).map(|(a, b)| a * b).sum::<f64>().powi(2) / l)
        .sum::<f64>()
        .sqrt();
    assert!(
        rel(card.linearized_distance, d_lin) < 1e-9,
        "{} vs {d_lin}",
        card.linearized_distance
    );
    // The proof's λ₀⁻ and λ_max⁺ (Lanczos estimates, then two Cholesky tests) bracket the
    // dense solver's extremes of the same stored kernel, and are close to them: the margins are
    // the residual, the floor φ and at most twice the tests' shifts c (Rump's, from tr K for
    // λ_min and from 2 N λ_max for λ_max: about 1e-11 and 1e-7 relative here).
    let margins = card.lanczos_margins0.as_ref().expect("the Lanczos path");
    assert!(
        margins.below.is_some() && margins.above.is_some(),
        "{margins:?}"
    );
    let proved = card.proved.as_ref().unwrap();
    let phi = card.positivity_threshold;
    assert!(proved.lambda0_lower < spec.lambda_min, "{proved:?}");
    assert!(proved.lambda_max_upper > spec.lambda_max, "{proved:?}");
    let shift = |trace: f64| plstar::measure::spectrum::cholesky_test_shift(card.n, trace);
    let slack = |rho: f64, trace: f64| 2.0 * (rho + phi) + 3.0 * shift(trace);
    let two_n_max = 2.0 * card.n as f64 * spec.lambda_max;
    let (below, above) = (
        spec.lambda_min - proved.lambda0_lower,
        proved.lambda_max_upper - spec.lambda_max,
    );
    assert!(
        below < slack(margins.residuals.min, k0.trace()),
        "{below:e}"
    );
    assert!(above < slack(margins.residuals.max, two_n_max), "{above:e}");
    assert!(!card.bottom_points.is_empty(), "a ball was searched");
    for (r, w) in &card.bottom_points {
        let m = Mlp::<F64>::from_vector(&cfg, w, &device).unwrap();
        let dense = dense_spectrum(&tangent_kernel(&m, &x, KernelMethod::Structured)).unwrap();
        // Relative to λ_min, or to λ_max where λ_min is at round-off (the outer ball, 8 R(w₀),
        // reaches a singular kernel: both solvers then answer ~1e-15 λ_max).
        let tolerance = 1e-7 * dense.lambda_min.abs() + 1e-12 * dense.lambda_max;
        let recorded = card
            .points
            .iter()
            .map(|p| (p.lambda_min - dense.lambda_min).abs())
            .fold(f64::INFINITY, f64::min);
        assert!(
            recorded <= tolerance,
            "r = {r}: dense λ_min {} not among the card's points",
            dense.lambda_min
        );
    }
}

/// One sample (N = 1): the card runs to the end (it used to panic taking the bottom and the top
/// eigenvector out of a one-element list). Oracle: K is 1 × 1, so λ₀ = λ_max = ‖∇_w F‖², here
/// from Burn's autodiff of the loss, ‖∇L‖² / (F − y)², to 1e-12 relative.
#[test]
fn card_of_a_single_sample_runs_and_its_eigenvalue_is_the_squared_gradient() {
    let data = data::sphere(1, 4, SyntheticTarget::Sign, 3);
    let cfg = MlpConfig::new(4, vec![16]).with_activation(Activation::Tanh);
    let device = Default::default();
    let model = cfg.init::<F64>(2, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let card = theorem_card(&model, &x, &y, &CardSettings::default()).unwrap();
    let g = plstar::measure::loss::loss_gradient(&model, &x, &y).to_vector();
    let r = download(model.forward(x.clone()) - y.clone())[0];
    let squared = g.iter().map(|v| v * v).sum::<f64>() / (r * r);
    assert_eq!(card.n, 1);
    for lambda in [card.lambda0, card.lambda_max0] {
        assert!(
            (lambda - squared).abs() <= 1e-12 * squared,
            "{lambda} vs {squared}"
        );
    }
    assert!(
        card.proved.is_some() && !card.profile.is_empty(),
        "{}",
        card.diagnosis
    );
}

/// A run that diverges before any record after w₀ (the loss at step 1 non-finite, so only the
/// step-0 record exists) took a step: the certified rate bound FAILS at that step (an infinite
/// loss is above every bound), the ball check is not applicable (the distance was never
/// recorded) with the divergence as its reason, never "the run took no step"; and a run that
/// follows the bound for its recorded steps, then diverges unrecorded, fails too.
#[test]
fn a_divergence_before_any_record_fails_the_rate_bound_and_is_not_called_no_step() {
    let (card, records, _, eta) = certified_run();
    let stop = StopReason::Diverged {
        step: 1,
        loss: "inf".into(),
    };
    let v = judge(Some(&card), None, &gd_run(&records[..1], eta, &stop, 1e-6));
    assert_eq!(
        state(&v, "certified rate bound"),
        VerdictState::Fail,
        "{v:#?}"
    );
    let ball = v
        .verdicts
        .iter()
        .find(|v| v.check.starts_with("stayed in the certified ball"))
        .unwrap();
    assert_eq!(ball.state, VerdictState::NotApplicable);
    assert!(
        ball.reason.contains("diverged at step 1"),
        "{}",
        ball.reason
    );
    assert!(
        v.verdicts
            .iter()
            .all(|v| !v.reason.contains("took no step")),
        "{v:#?}"
    );
    // The recorded steps hold the bound (the passing run's own); the divergence after them fails.
    let last = records.last().unwrap().step;
    let later = StopReason::Diverged {
        step: last + 1,
        loss: "NaN".into(),
    };
    let v = judge(Some(&card), None, &gd_run(&records, eta, &later, 1e-6));
    let find = |prefix: &str| {
        v.verdicts
            .iter()
            .find(|v| v.check.starts_with(prefix))
            .unwrap()
            .clone()
    };
    let rate = find("certified rate bound");
    assert_eq!(rate.state, VerdictState::Fail, "{v:#?}");
    assert!(rate.detail.contains("the loss diverged"), "{}", rate.detail);
    // The recorded steps stayed inside; the diverged one was never measured.
    let ball = find("stayed in the certified ball");
    assert_eq!(ball.state, VerdictState::NotApplicable, "{ball:?}");
    assert!(ball.reason.contains("not recorded"), "{}", ball.reason);
}
