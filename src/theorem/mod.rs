//! The PL* theorem (THEORY.md) applied to a network: its constants estimated over the ball
//! ([`card`], by constrained searches of balls around `w₀`: [`search`]), the step sizes they give
//! ([`step_size`]), and the checks of a finished run against them ([`verdict`]).

pub mod bound;
pub mod card;
pub mod certificate;
pub mod proved;
pub mod search;
pub mod step_size;
pub mod verdict;
