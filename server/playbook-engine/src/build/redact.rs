//! Secrets never reach an event: values of environment variables whose names end in `_TOKEN`,
//! `_KEY`, `_SECRET` or `_PASSWORD` (plus any configured names) become `***`.

const SECRET_SUFFIXES: [&str; 4] = ["_TOKEN", "_KEY", "_SECRET", "_PASSWORD"];

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Secrets from the process environment plus the variables named in `extra_names`.
    pub fn from_env(extra_names: &[String]) -> Redactor {
        Redactor::from_vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))), extra_names)
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>, extra_names: &[String]) -> Redactor {
        let mut secrets: Vec<String> = vars
            .into_iter()
            .filter(|(name, value)| {
                !value.is_empty() && (SECRET_SUFFIXES.iter().any(|s| name.ends_with(s)) || extra_names.iter().any(|n| n == name))
            })
            .map(|(_, value)| value)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_secret_values_only() {
        let vars =
            [("DEPLOY_TOKEN", "s3cr3t-value"), ("HOME", "/home/me"), ("API_KEY", "abc"), ("MY_CRED", "hunter2"), ("EMPTY_SECRET", "")];
        let r = Redactor::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), &["MY_CRED".to_string()]);
        assert_eq!(r.redact("token=s3cr3t-value key=abc cred=hunter2 home=/home/me"), "token=*** key=*** cred=*** home=/home/me");
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
