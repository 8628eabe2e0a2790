//! A provider with a fallback: when the primary fails (its retries exhausted, or an answer it
//! cannot use), the same request goes to the fallback; when both fail, the error names both.

use super::{CodeProvider, GeneratedFile, Generation, ProviderLog, RegisterRequest, ReviewFinding, ReviewRequest};

pub struct WithFallback {
    pub primary: Box<dyn CodeProvider>,
    pub fallback: Box<dyn CodeProvider>,
}

impl WithFallback {
    fn run<T>(&self, what: &str, log: ProviderLog<'_>, call: impl Fn(&dyn CodeProvider) -> Result<T, String>) -> Result<T, String> {
        let first = match call(self.primary.as_ref()) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let first = named(self.primary.as_ref(), what, first);
        log(format!("{first}; trying the fallback provider {}", self.fallback.describe()));
        call(self.fallback.as_ref()).map_err(|second| {
            let second = named(self.fallback.as_ref(), what, second);
            format!(
                "both code-generation providers failed. First {first}. Then the fallback {second}. \
                 Check the CODEGEN_* and CODEGEN_FALLBACK_* settings, or set CODEGEN_PROVIDER=template."
            )
        })
    }
}

/// The error prefixed with the provider and the request, unless it already says them.
fn named(provider: &dyn CodeProvider, what: &str, error: String) -> String {
    let name = provider.describe();
    if error.starts_with(&name) { error } else { format!("{name}: {what}: {error}") }
}

impl CodeProvider for WithFallback {
    fn describe(&self) -> String {
        format!("{} (fallback {})", self.primary.describe(), self.fallback.describe())
    }

    fn generate_register(&self, request: &RegisterRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<GeneratedFile>>, String> {
        self.run(&format!("files of {}", request.register.name), log, |p| p.generate_register(request, log))
    }

    fn review(&self, request: &ReviewRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<ReviewFinding>>, String> {
        self.run("review", log, |p| p.review(request, log))
    }
}
