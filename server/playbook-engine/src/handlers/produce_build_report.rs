//! `produce_build_report`: hands off to the report machinery (`crate::report`), which writes a
//! new draft version of the phase's Build Report from the job's steps and the outputs they
//! recorded. The Activity continues on failure, so a report problem never fails the build.

use super::outputs::write_output;
use crate::build::{Handler, StepContext, StepOutcome};

pub struct ProduceBuildReport;

impl Handler for ProduceBuildReport {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match crate::report::generate_with(ctx.case_path, ctx.phase_number, None) {
            Ok(generated) => {
                for warning in &generated.warnings {
                    ctx.log(None, format!("warning: {warning}"));
                }
                let path = generated.path.strip_prefix(ctx.case_dir).unwrap_or(&generated.path).display().to_string();
                ctx.log(
                    None,
                    format!("{} v{} written to {path} as a draft; approve it to complete the phase", generated.report, generated.version),
                );
                let output = serde_json::json!({"report": generated.report, "version": generated.version, "path": path});
                if let Err(e) = write_output(ctx.workspace, "produce_build_report", &output) {
                    ctx.log(None, format!("warning: {e}"));
                }
                StepOutcome::Succeeded
            }
            Err(e) => StepOutcome::Failed(format!("the Build Report could not be written: {e}")),
        }
    }
}
