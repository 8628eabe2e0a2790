//! The registry build's answers as typed values, and the names every generator, reviewer,
//! image build and push derives from them. One place, so the extension generator, the review
//! pass, the Dockerfiles, the compose file and the test suite can never disagree on a table,
//! class, package or image name.

use playbook_core::case::{AnswerState, Case};
use playbook_core::yaml::{NodeKind, node_to_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where each Activity's material lives inside the job workspace.
pub mod layout {
    /// The clone of the reference registry (read-only material for the generators).
    pub const REFERENCE: &str = "reference";
    /// The generated extension package (its own git repository when pushed).
    pub const EXTENSION: &str = "extension";
    /// The generated deployment repository: Dockerfiles, chart, compose file, tests.
    pub const DEPLOYMENT: &str = "deployment";
    /// The generated test suite, inside the deployment repository.
    pub const TESTS: &str = "deployment/tests";
    /// Smoke-test logs and the JUnit report.
    pub const TEST_RESULTS: &str = "deployment/test-results";
    /// The image manifest written by `generate_deployment_files` ([`super::ImageSpec`] list).
    pub const IMAGES: &str = "deployment/images.json";
    /// The sandbox compose file.
    pub const COMPOSE: &str = "deployment/docker-compose.sandbox.yaml";
    /// Step outputs (`<activity>.json`), read by later steps and the Build Report.
    pub const OUTPUTS: &str = ".outputs";
}

/// One column of a Register, with its constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The database type as answered (`varchar(200)`, `date`, `integer`, …).
    pub sql_type: String,
    pub nullable: bool,
    /// The default as answered: `null` for none, a number, a string (`now()` is an SQL call).
    pub default: Value,
}

/// How a Register's functional identifier looks (`functional_id_encoding_pattern`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdPattern {
    pub prefix: String,
    pub suffix: String,
    pub separator: String,
    /// `sequential`, `random` or `year_seq`.
    pub body_kind: String,
    pub body_length: u32,
}

/// A Register or a supporting table, with everything generated for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// The name used in the answers (`Households`, `Household Assets`).
    pub name: String,
    /// Its mnemonic (`household`, `household-asset`).
    pub mnemonic: String,
    /// True for a supporting table (Phase 1 `supporting_tables`).
    pub supporting: bool,
    pub columns: Vec<Column>,
    pub id_pattern: Option<IdPattern>,
}

impl Register {
    /// The Python module name: `household_asset`.
    pub fn module(&self) -> String {
        snake(&self.mnemonic)
    }

    /// The model class name: `HouseholdAsset`.
    pub fn class_name(&self) -> String {
        self.mnemonic.split(['-', '_']).filter(|p| !p.is_empty()).map(capitalise).collect()
    }

    /// The API path segment: `household-assets`… kept as the mnemonic: `household-asset`.
    pub fn path_segment(&self) -> &str {
        &self.mnemonic
    }
}

/// A cross-column or cross-table constraint (`database_constraints`); tables are Register names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DbConstraint {
    ForeignKey { table: String, column: String, references: String },
    Unique { table: String, columns: Vec<String> },
    Check { table: String, expression: String },
}

/// The SMS and email texts of one notification event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationPayload {
    pub event: String,
    pub sms: String,
    pub email_subject: String,
    pub email_body: String,
}

/// Replicas and resources of one chart component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentSize {
    pub component: String,
    pub replicas: u32,
    pub cpu: String,
    pub memory: String,
}

/// `helm_resource_profile`: one t-shirt size for all, or sizes per component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResourceProfile {
    Size(String),
    Components(Vec<ComponentSize>),
}

/// One service image: built by `build_images_locally`, run by the sandbox, pushed last.
/// `generate_deployment_files` writes the list to [`layout::IMAGES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSpec {
    /// The service (`api`, `staff-portal`).
    pub service: String,
    /// The Dockerfile, relative to the job workspace.
    pub dockerfile: String,
    /// The build context, relative to the job workspace.
    pub context: String,
    /// The full reference: `<registry path>/<org>-<registry>-<service>:develop`.
    pub image: String,
}

/// The Phase 1 and Phase 2 answers the registry build generates from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryInputs {
    pub organisation: String,
    pub registry: String,
    pub registry_name: String,
    /// Registers first, then supporting tables, each in the order of `register_mnemonics`.
    pub registers: Vec<Register>,
    pub constraints: Vec<DbConstraint>,
    pub notifications: Vec<NotificationPayload>,
    pub production_domains: Vec<String>,
    /// `sandbox_base_domain`, or `<registry_mnemonic>.internal`.
    pub sandbox_domain: String,
    pub resource_profile: ResourceProfile,
    /// Case-relative paths as answered.
    pub logo_small: Option<String>,
    pub logo_medium: Option<String>,
    pub ui_theme: Option<String>,
    pub supported_languages: Vec<String>,
    pub gitlab_user: Option<String>,
    pub gitlab_email: Option<String>,
    pub reference_url: Option<String>,
    pub reference_ref: Option<String>,
}

/// The image tag every service gets.
pub const IMAGE_TAG: &str = "develop";
/// The branch pushed to both projects.
pub const BRANCH: &str = "develop";

impl RegistryInputs {
    /// Read the answers of a case. Errors name the item and say what is wrong; a build only
    /// gets here after `collect_build_inputs`, so they are rare.
    pub fn from_case(case: &Case) -> Result<RegistryInputs, String> {
        let answers = Answers(case);
        let organisation = answers.text("organisation_mnemonic")?;
        let registry = answers.text("registry_mnemonic")?;
        let mnemonics = answers.ordered_map("register_mnemonics")?;
        let columns = answers.map("register_columns")?;
        let constraints_by_table = answers.optional("attribute_constraints").and_then(|v| v.as_object().cloned()).unwrap_or_default();
        let patterns = answers.optional("functional_id_encoding_pattern").and_then(|v| v.as_object().cloned()).unwrap_or_default();
        let supporting: Vec<String> = answers.list_of_text("supporting_tables");

        let mut registers = Vec::new();
        for (name, mnemonic) in &mnemonics {
            let mnemonic =
                mnemonic.as_str().ok_or_else(|| format!("register_mnemonics: the mnemonic of `{name}` is not text"))?.to_string();
            let column_list = columns
                .get(name)
                .and_then(Value::as_array)
                .ok_or_else(|| format!("register_columns: no column list for `{name}` (register_mnemonics names it)"))?;
            let table_constraints = constraints_by_table.get(name).and_then(Value::as_object);
            let mut cols = Vec::new();
            for (i, col) in column_list.iter().enumerate() {
                let col_name = col
                    .get("column_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("register_columns: entry {} of `{name}` has no column_name", i + 1))?;
                let sql_type = scalar_text(col.get("type")).ok_or_else(|| format!("register_columns: `{name}.{col_name}` has no type"))?;
                let constraint = table_constraints.and_then(|t| t.get(col_name));
                let nullable = constraint.and_then(|c| c.get("nullable")).and_then(Value::as_bool).unwrap_or(true);
                let default = constraint.and_then(|c| c.get("default")).cloned().unwrap_or(Value::Null);
                cols.push(Column { name: col_name.to_string(), sql_type, nullable, default });
            }
            let id_pattern = match patterns.get(name) {
                Some(p) => Some(IdPattern {
                    prefix: scalar_text(p.get("prefix")).unwrap_or_default(),
                    suffix: scalar_text(p.get("suffix")).unwrap_or_default(),
                    separator: scalar_text(p.get("separator")).unwrap_or_default(),
                    body_kind: scalar_text(p.get("body_kind")).unwrap_or_else(|| "sequential".into()),
                    body_length: p
                        .get("body_length")
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("functional_id_encoding_pattern: `{name}` has no whole-number body_length"))?,
                }),
                None => None,
            };
            registers.push(Register { name: name.clone(), mnemonic, supporting: supporting.contains(name), columns: cols, id_pattern });
        }
        // Registers first, then supporting tables; stable within each group.
        registers.sort_by_key(|r| r.supporting);

        let constraints = match answers.optional("database_constraints") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    serde_json::from_value::<DbConstraint>(c.clone()).map_err(|e| format!("database_constraints: entry {}: {e}", i + 1))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };

        let mut notifications = Vec::new();
        if answers.optional("notification_payloads").is_some() {
            for (event, payload) in answers.ordered_map("notification_payloads")? {
                let email = payload.get("email");
                notifications.push(NotificationPayload {
                    event: event.clone(),
                    sms: scalar_text(payload.get("sms")).unwrap_or_default(),
                    email_subject: scalar_text(email.and_then(|e| e.get("subject"))).unwrap_or_default(),
                    email_body: scalar_text(email.and_then(|e| e.get("body"))).unwrap_or_default(),
                });
            }
        }

        let resource_profile = match answers.optional("helm_resource_profile") {
            Some(Value::String(size)) => ResourceProfile::Size(size),
            Some(Value::Object(_)) => ResourceProfile::Components(
                answers
                    .ordered_map("helm_resource_profile")?
                    .iter()
                    .map(|(component, size)| ComponentSize {
                        component: component.clone(),
                        replicas: size.get("replicas").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
                        cpu: scalar_text(size.get("cpu")).unwrap_or_else(|| "250m".into()),
                        memory: scalar_text(size.get("memory")).unwrap_or_else(|| "512Mi".into()),
                    })
                    .collect(),
            ),
            _ => ResourceProfile::Size("small".into()),
        };

        Ok(RegistryInputs {
            sandbox_domain: answers.optional_text("sandbox_base_domain").unwrap_or_else(|| format!("{registry}.internal")),
            organisation,
            registry_name: answers.optional_text("registry_name").unwrap_or_else(|| registry.clone()),
            registry,
            registers,
            constraints,
            notifications,
            production_domains: answers.list_of_text("production_domain_name"),
            resource_profile,
            logo_small: answers.optional_text("registry_logo_small"),
            logo_medium: answers.optional_text("registry_logo_medium"),
            ui_theme: answers.optional_text("ui_theme"),
            supported_languages: answers.list_of_text("supported_languages"),
            gitlab_user: answers.optional_text("gitlab_user_handle"),
            gitlab_email: answers.optional_text("gitlab_user_email"),
            reference_url: answers.optional_text("reference_registry_url"),
            reference_ref: answers.optional_text("reference_registry_ref"),
        })
    }

    /// The Python package of the extension: `mosd_aurelia_households`.
    pub fn package(&self) -> String {
        format!("{}_{}", snake(&self.organisation), snake(&self.registry))
    }

    /// A Register's database table: `aurelia_households_household_asset`.
    pub fn table_name(&self, register: &Register) -> String {
        format!("{}_{}", snake(&self.registry), register.module())
    }

    /// The Register named in the answers (`Households`), by name.
    pub fn register(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.name == name)
    }

    /// The Helm chart, and the prefix of every image name: `mosd-aurelia-households`.
    pub fn chart_name(&self) -> String {
        format!("{}-{}", self.organisation, self.registry)
    }

    /// An image name without registry path or tag: `mosd-aurelia-households-api`.
    pub fn image_name(&self, service: &str) -> String {
        format!("{}-{service}", self.chart_name())
    }

    /// The full image reference under a registry path (`registry.example/group`), tag `develop`.
    pub fn image_ref(&self, registry_path: &str, service: &str) -> String {
        let path = registry_path.trim_end_matches('/');
        format!("{path}/{}:{IMAGE_TAG}", self.image_name(service))
    }

    /// The GitLab project of the extension: `aurelia-households-extension`.
    pub fn extension_project(&self) -> String {
        format!("{}-extension", self.registry)
    }

    /// The GitLab project of the deployment: `aurelia-households-deployment`.
    pub fn deployment_project(&self) -> String {
        format!("{}-deployment", self.registry)
    }

    /// The compose project of the sandbox (one per registry, so re-runs replace it).
    pub fn sandbox_project(&self) -> String {
        format!("{}-sandbox", self.chart_name())
    }
}

/// `household-asset` → `household_asset`.
pub fn snake(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

fn capitalise(part: &str) -> String {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Recorded answers as JSON; deferred, unknown and empty ones count as absent.
struct Answers<'a>(&'a Case);

impl Answers<'_> {
    fn optional(&self, id: &str) -> Option<Value> {
        let entry = self.0.answer_entry(id)?;
        (entry.state == AnswerState::Value).then(|| node_to_json(&entry.value)).filter(|v| !v.is_null())
    }

    fn optional_text(&self, id: &str) -> Option<String> {
        scalar_text(self.optional(id).as_ref()).filter(|s| !s.trim().is_empty())
    }

    fn text(&self, id: &str) -> Result<String, String> {
        self.optional_text(id).ok_or_else(|| format!("`{id}` is not answered"))
    }

    fn map(&self, id: &str) -> Result<Map<String, Value>, String> {
        match self.optional(id) {
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(format!("`{id}` is not a map")),
            None => Err(format!("`{id}` is not answered")),
        }
    }

    /// A map answer's entries in the order they are written (JSON objects here are sorted).
    fn ordered_map(&self, id: &str) -> Result<Vec<(String, Value)>, String> {
        let entry = self.0.answer_entry(id).filter(|e| e.state == AnswerState::Value).ok_or_else(|| format!("`{id}` is not answered"))?;
        match &entry.value.kind {
            NodeKind::Map(entries) => Ok(entries
                .iter()
                .map(|e| (e.key.as_scalar().map(|k| k.value.clone()).unwrap_or_default(), node_to_json(&e.value)))
                .collect()),
            _ => Err(format!("`{id}` is not a map")),
        }
    }

    fn list_of_text(&self, id: &str) -> Vec<String> {
        match self.optional(id) {
            Some(Value::Array(items)) => items.iter().filter_map(|v| scalar_text(Some(v))).collect(),
            Some(other) => scalar_text(Some(&other)).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> RegistryInputs {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/working_case.yaml")).unwrap();
        RegistryInputs::from_case(&Case::parse(&text)).unwrap()
    }

    #[test]
    fn the_demo_case_reads_into_registers_with_columns_constraints_and_patterns() {
        let inputs = demo();
        assert_eq!(inputs.package(), "mosd_aurelia_households");
        let names: Vec<_> = inputs.registers.iter().map(|r| (r.name.as_str(), r.supporting)).collect();
        assert_eq!(names, [("Households", false), ("Individuals", false), ("Household Assets", true)]);
        let assets = inputs.register("Household Assets").unwrap();
        assert_eq!(assets.class_name(), "HouseholdAsset");
        assert_eq!(inputs.table_name(assets), "aurelia_households_household_asset");
        let quantity = assets.columns.iter().find(|c| c.name == "quantity").unwrap();
        assert_eq!((quantity.sql_type.as_str(), quantity.nullable, &quantity.default), ("integer", false, &Value::from(1)));
        let households = inputs.register("Households").unwrap();
        assert_eq!(households.id_pattern.as_ref().unwrap().prefix, "HH");
        assert_eq!(households.columns[3].default, Value::from("now()"));
        assert!(inputs.register("Household Assets").unwrap().id_pattern.is_none());
        assert_eq!(inputs.constraints.len(), 4);
        assert!(matches!(&inputs.constraints[2], DbConstraint::Unique { columns, .. } if columns == &["national_id_number"]));
        assert_eq!(inputs.notifications.len(), 3);
        assert_eq!(inputs.notifications[0].email_subject, "Registration approved");
        assert!(matches!(&inputs.resource_profile, ResourceProfile::Components(c) if c.len() == 5));
        assert_eq!(inputs.sandbox_domain, "aurelia-households.internal");
        assert_eq!(inputs.image_ref("registry.example/g/", "api"), "registry.example/g/mosd-aurelia-households-api:develop");
        assert_eq!(inputs.extension_project(), "aurelia-households-extension");
    }

    #[test]
    fn the_farmers_case_has_no_patterns_no_notifications_and_a_size_profile() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/farmers/working_case.yaml")).unwrap();
        let inputs = RegistryInputs::from_case(&Case::parse(&text)).unwrap();
        assert_eq!(inputs.package(), "moa_farmer_roll");
        assert_eq!(inputs.registers.iter().map(|r| r.class_name()).collect::<Vec<_>>(), ["Farmer", "FarmPlot"]);
        assert!(inputs.registers.iter().all(|r| r.id_pattern.is_none()));
        assert!(inputs.notifications.is_empty());
        assert_eq!(inputs.resource_profile, ResourceProfile::Size("small".into()));
        assert_eq!(inputs.sandbox_domain, "farmer-roll.internal");
        let plots = inputs.register("Farm Plots").unwrap();
        assert_eq!(plots.columns[1].sql_type, "numeric(8,2)");
        assert_eq!(plots.columns[2].default, Value::from("maize"));
        assert_eq!(inputs.register("Farmers").unwrap().columns[3].default, Value::Bool(true));
    }

    #[test]
    fn a_register_without_columns_is_named() {
        let text = "playbook: x.md\nanswers:\n  organisation_mnemonic: mosd\n  registry_mnemonic: farm\n  register_mnemonics: {Farms: farm}\n  register_columns: {}\n";
        let error = RegistryInputs::from_case(&Case::parse(text)).unwrap_err();
        assert!(error.contains("`Farms`"), "{error}");
    }
}
