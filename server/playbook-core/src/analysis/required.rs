//! Which items are required now: the phase-aware rule of product.md §3.

use crate::condition::{Answers, Truth};
use crate::playbook::{Item, Playbook, RequiredRule};

/// Whether an item's Required holds for these answers.
pub fn requirement(item: &Item, answers: &dyn Answers) -> Truth {
    match item.required.as_ref().map(|r| &r.rule) {
        Some(RequiredRule::Yes) => Truth::True,
        Some(RequiredRule::Conditional { condition: Ok(expr), .. }) => expr.eval(answers),
        // No, unparsed conditions and absent fields never make an item required.
        _ => Truth::False,
    }
}

/// The index into `playbook.phases` of the current phase: the phase numbered `current`
/// when there is one, else the first phase.
pub fn current_phase_index(playbook: &Playbook, current: Option<u32>) -> usize {
    current.and_then(|n| playbook.phase_by_number(n)).unwrap_or(0)
}

/// Indices of the items required now: in the current phase or an earlier one, with a
/// Required that evaluates to true. In playbook order.
pub fn required_now(playbook: &Playbook, answers: &dyn Answers, current_phase: usize) -> Vec<usize> {
    playbook
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.phase <= current_phase && requirement(item, answers) == Truth::True)
        .map(|(i, _)| i)
        .collect()
}
