//! Which items are required now: the phase-aware rule of product.md §3.

use crate::case::{AnswerState, Case};
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

/// An item counts as recorded when it has a value, or was explicitly deferred or marked
/// unknown (null values and unknown tags do not count).
pub fn recorded(case: &Case, id: &str) -> bool {
    case.answer_entry(id).is_some_and(|e| matches!(e.state, AnswerState::Value | AnswerState::Deferred { .. } | AnswerState::Unknown))
}

/// The items required now, and those of them not recorded yet: both in playbook order.
pub fn progress(playbook: &Playbook, case: &Case, current_phase: usize) -> (Vec<usize>, Vec<usize>) {
    let required = required_now(playbook, case, current_phase);
    let missing = required.iter().copied().filter(|&i| !recorded(case, &playbook.items[i].id)).collect();
    (required, missing)
}
