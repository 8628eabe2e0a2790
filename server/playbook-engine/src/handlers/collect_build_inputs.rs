//! `collect_build_inputs`: every item required so far is answered and valid — the core's own
//! analysis of the saved case, in the build's phase — else the build aborts with the list.

use crate::build::{Handler, StepContext, StepOutcome};
use crate::workspace::{FsProbe, workspace_root};
use playbook_core::analysis::{CaseContext, check_case};
use playbook_core::finding::{Rule, Severity};

pub struct CollectBuildInputs;

impl Handler for CollectBuildInputs {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let probe = FsProbe { case_dir: ctx.case_dir.to_path_buf(), root: workspace_root(ctx.case_dir) };
        let check = CaseContext { current_phase: ctx.phase_number, files: &probe };
        let findings = check_case(ctx.case, ctx.case_text, ctx.playbook, &check);
        // What stops a build: anything the checker calls an error, and every missing answer.
        let blocking: Vec<_> = findings.iter().filter(|f| f.severity == Severity::Error || f.rule == Rule::MissingAnswer).collect();
        if blocking.is_empty() {
            let answered = ctx.case.answers.len();
            ctx.log(None, format!("every required input is recorded and valid ({answered} answers)"));
            return StepOutcome::Succeeded;
        }
        for finding in &blocking {
            ctx.log(None, format!("{}: {}", finding.rule.id(), finding.message));
        }
        let mut items: Vec<&str> = blocking.iter().filter_map(|f| f.item.as_deref()).collect();
        items.dedup();
        let list = if items.is_empty() { String::new() } else { format!(": {}", items.join(", ")) };
        StepOutcome::Failed(format!("{} build input problem{}{list}", blocking.len(), if blocking.len() == 1 { "" } else { "s" }))
    }
}
