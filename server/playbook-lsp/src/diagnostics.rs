//! Findings → `textDocument/publishDiagnostics`, with the document version.

use crate::world::{Document, Kind, World};
use playbook_core::finding::{DocRef, Finding, Severity};
use std::sync::Arc;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, PublishDiagnosticsParams,
};

pub const SOURCE: &str = "playbook";

pub fn for_document(world: &World, doc: &Arc<Document>) -> PublishDiagnosticsParams {
    let findings = world.findings(doc);
    let playbook_doc = match doc.kind {
        Kind::Case => world.case_view(doc).playbook_doc,
        Kind::Playbook => Some(doc.clone()),
    };
    let diagnostics = findings.iter().map(|f| to_diagnostic(world, doc, playbook_doc.as_deref(), f)).collect();
    PublishDiagnosticsParams { uri: doc.uri.clone(), diagnostics, version: doc.version }
}

pub fn to_diagnostic(world: &World, doc: &Document, playbook_doc: Option<&Document>, f: &Finding) -> Diagnostic {
    let severity = match f.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    };
    let in_doc = |which: DocRef| match which {
        DocRef::Case => Some(doc),
        DocRef::Playbook => playbook_doc.or(if doc.kind == Kind::Playbook { Some(doc) } else { None }),
    };
    let target = in_doc(f.doc).unwrap_or(doc);
    let related: Vec<DiagnosticRelatedInformation> = f
        .related
        .iter()
        .filter_map(|r| {
            let d = in_doc(r.doc)?;
            Some(DiagnosticRelatedInformation {
                location: Location { uri: d.uri.clone(), range: world.range(d, &r.span) },
                message: r.message.clone(),
            })
        })
        .collect();
    let mut message = f.message.clone();
    for note in &f.notes {
        message.push('\n');
        message.push_str(note);
    }
    Diagnostic {
        range: world.range(target, &f.span),
        severity: Some(severity),
        code: Some(NumberOrString::String(f.rule.id().to_string())),
        code_description: None,
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        // The finding itself travels with the diagnostic, so code actions can use its fixes.
        data: serde_json::to_value(FindingData::from_fixes(f.item.clone(), &f.fixes)).ok(),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct FindingData {
    pub item: Option<String>,
    #[serde(default)]
    pub fixes: Vec<serde_json::Value>,
}

impl FindingData {
    pub fn from_fixes(item: Option<String>, fixes: &[playbook_core::finding::Fix]) -> Self {
        FindingData { item, fixes: fixes.iter().filter_map(|f| serde_json::to_value(f).ok()).collect() }
    }
}
