//! The playbook language server: the core's analysis served over LSP.
//!
//! Documents live in one state actor (`actor.rs`) that applies edits strictly in arrival order
//! (`ordered.rs`) and hands immutable snapshots (`world.rs`) to request handlers; each feature
//! is a pure function in `features/`. A panic in a handler becomes an error response and one
//! `window/showMessage`; the server keeps serving.

pub mod actor;
pub mod builds;
pub mod diagnostics;
pub mod features;
pub mod locate;
pub mod ordered;
pub mod phases;
pub mod status;
pub mod transport;
pub mod world;

use actor::{Handle, Msg};
use features::*;
use playbook_core::span::ColumnUnit;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService};

pub struct Backend {
    client: Client,
    actor: Handle,
    builds: std::sync::Arc<builds::Builds>,
}

/// Serve LSP over the given streams until the client says `exit` (or closes the input).
pub async fn serve<I, O>(input: I, output: O) -> transport::Outcome
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let (actor, queue) = actor::channel();
    let handle = actor.clone();
    let service = LspService::build(move |client| {
        actor::start(queue, Some(client.clone()));
        let builds = builds::Builds::new(client.clone(), handle.clone());
        Backend { client, actor: handle, builds }
    })
    .custom_method("playbook/status", Backend::status_request)
    .custom_method("playbook/buildEvents", Backend::build_events_request)
    // tower-lsp-server has no handler for this notification yet.
    .custom_method("window/workDoneProgress/cancel", Backend::cancel_progress);
    // Debug builds only: a request that panics, so tests can prove the guard holds.
    #[cfg(debug_assertions)]
    let service = service.custom_method("playbook/internal/panic", Backend::panic_request);
    let (service, socket) = service.finish();
    let service = ordered::Ordered { inner: service, actor };
    transport::serve(input, output, service, socket).await
}

impl Backend {
    async fn status_request(&self) -> Result<status::Status> {
        Ok(self.actor.status().await)
    }

    async fn build_events_request(&self, params: builds::ReplayParams) -> Result<Vec<builds::BuildEventParams>> {
        self.run("buildEvents", |w| builds::replay(w, &params)).await?.map_err(invalid_params)
    }

    async fn cancel_progress(&self, params: WorkDoneProgressCancelParams) {
        self.builds.cancel_progress(&params.token);
    }

    /// The build commands: trust is checked, a build starts on its own thread.
    async fn build_command(&self, params: &ExecuteCommandParams) -> Result<Option<LSPAny>> {
        let world = self.actor.snapshot().await;
        let answer = match params.command.as_str() {
            builds::STOP_BUILD => argument_or_default(params).and_then(|args| self.builds.stop(&world, args)),
            command => {
                let token = params.work_done_progress_params.work_done_token.clone();
                match argument_or_default(params) {
                    Ok(args) => self.builds.run(&world, args, command == builds::RUN_ACTIVITY, token).await,
                    Err(e) => Err(e),
                }
            }
        };
        match answer {
            Ok(value) => Ok(Some(value)),
            Err(message) => {
                // Said where the user looks, and answered to the caller.
                self.client.show_message(MessageType::WARNING, format!("playbook: {message}")).await;
                Err(invalid_params(message))
            }
        }
    }

    /// The phase and report commands: file I/O and `git config` off the async runtime; the
    /// actor re-reads the case folder afterwards so lenses, hover and status follow.
    async fn phase_command(&self, params: &ExecuteCommandParams) -> Result<Option<LSPAny>> {
        let world = self.actor.snapshot().await;
        let args: phases::PhaseArgs = argument_or_default(params).map_err(invalid_params)?;
        let folder = builds::resolve_case(&world, args.uri.as_ref(), args.case.as_ref())
            .ok()
            .and_then(|(path, _)| path.parent().map(std::path::Path::to_path_buf));
        let command = params.command.clone();
        let answer = tokio::task::spawn_blocking(move || phases::execute(&world, &command, args))
            .await
            .unwrap_or_else(|_| Err("the phase command panicked; see the server log".to_string().into()));
        if let Some(folder) = folder {
            self.actor.send(Msg::ProjectChanged(folder));
        }
        match answer {
            Ok(value) => Ok(Some(value)),
            Err(refusal) => {
                self.client.show_message(MessageType::WARNING, format!("playbook: {}", refusal.message)).await;
                let data = (!refusal.reasons.is_empty()).then(|| serde_json::json!({ "reasons": refusal.reasons }));
                Err(Error { code: ErrorCode::InvalidParams, message: refusal.message.into(), data })
            }
        }
    }

    #[cfg(debug_assertions)]
    async fn panic_request(&self) -> Result<()> {
        self.run("internal/panic", |_| panic!("deliberate panic for tests")).await
    }

    /// Run a feature on a fresh snapshot; a panic becomes an error response and a message.
    async fn run<T>(&self, feature: &'static str, f: impl FnOnce(&world::World) -> T) -> Result<T> {
        self.run_on(self.actor.snapshot().await, feature, f).await
    }

    /// [`Backend::run`] on a snapshot the caller already holds.
    async fn run_on<T>(&self, world: std::sync::Arc<world::World>, feature: &'static str, f: impl FnOnce(&world::World) -> T) -> Result<T> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&world))) {
            Ok(value) => Ok(value),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!("panic in {feature}: {what}");
                self.client
                    .show_message(MessageType::ERROR, format!("playbook: internal error in {feature} ({what}); the server keeps running"))
                    .await;
                Err(Error { code: ErrorCode::InternalError, message: format!("internal error in {feature}").into(), data: None })
            }
        }
    }
}

/// The engine's phase status of these cases, read off the async runtime; a case whose status
/// cannot be read is left out (its lenses show counts and builds only).
async fn phase_statuses(cases: Vec<PathBuf>) -> std::collections::HashMap<PathBuf, playbook_engine::phase::PhaseStatus> {
    if cases.is_empty() {
        return Default::default();
    }
    let read = tokio::task::spawn_blocking(move || phases::statuses(&cases)).await.unwrap_or_default();
    read.into_iter().filter_map(|(path, status)| status.ok().map(|s| (path, s))).collect()
}

/// A command's first argument as `T`, or `T::default()` when there is none.
fn argument_or_default<T: serde::de::DeserializeOwned + Default>(params: &ExecuteCommandParams) -> std::result::Result<T, String> {
    match params.arguments.first() {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(first) => serde_json::from_value(first.clone()).map_err(|e| format!("bad argument for `{}`: {e}", params.command)),
    }
}

/// The client says the workspace is trusted: `initializationOptions.trustedWorkspace` or the
/// setting `playbook.trustedWorkspace`. Anything else is untrusted.
fn trusted_in(value: Option<&serde_json::Value>) -> Option<bool> {
    let value = value?;
    value.get("trustedWorkspace").or_else(|| value.get("playbook")?.get("trustedWorkspace"))?.as_bool()
}

fn invalid_params(message: String) -> Error {
    Error { code: ErrorCode::InvalidParams, message: message.into(), data: None }
}

/// UTF-8 when the client offers it (cheaper for us), else the protocol's default UTF-16.
fn negotiate_encoding(params: &InitializeParams) -> ColumnUnit {
    let offered = params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_ref());
    if offered.is_some_and(|e| e.contains(&PositionEncodingKind::UTF8)) { ColumnUnit::Utf8 } else { ColumnUnit::Utf16 }
}

fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let folders = params.workspace_folders.iter().flatten().filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()));
    #[allow(deprecated, reason = "older clients send only rootUri")]
    let root_uri = params.root_uri.as_ref().and_then(|u| u.to_file_path().map(|p| p.into_owned()));
    let mut roots: Vec<PathBuf> = folders.collect();
    if roots.is_empty() {
        roots.extend(root_uri);
    }
    roots.into_iter().map(|r| r.canonicalize().unwrap_or(r)).collect()
}

const BUILD_COMMANDS: &[&str] = &[builds::RUN_BUILD, builds::RUN_ACTIVITY, builds::STOP_BUILD];

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let encoding = negotiate_encoding(&params);
        let snippets = params
            .capabilities
            .text_document
            .as_ref()
            .and_then(|t| t.completion.as_ref())
            .and_then(|c| c.completion_item.as_ref())
            .and_then(|i| i.snippet_support)
            .unwrap_or(false);
        let document_changes = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.document_changes)
            .unwrap_or(false);
        let trusted = trusted_in(params.initialization_options.as_ref()).unwrap_or(false);
        let workspace = params.capabilities.workspace.as_ref();
        let lens_refresh = workspace.and_then(|w| w.code_lens.as_ref()).and_then(|c| c.refresh_support).unwrap_or(false);
        let progress = params.capabilities.window.as_ref().and_then(|w| w.work_done_progress).unwrap_or(false);
        self.builds.set_progress_support(progress);
        self.actor.send(Msg::Configure { roots: workspace_roots(&params), encoding, snippets, document_changes, trusted, lens_refresh });
        let position_encoding = Some(if encoding == ColumnUnit::Utf8 { PositionEncodingKind::UTF8 } else { PositionEncodingKind::UTF16 });
        Ok(InitializeResult {
            server_info: Some(ServerInfo { name: "playbook".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
            capabilities: ServerCapabilities {
                position_encoding,
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    ..Default::default()
                })),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![":".into(), " ".into()]),
                    ..Default::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                    code_action_kinds: Some(vec![
                        CodeActionKind::QUICKFIX,
                        CodeActionKind::SOURCE,
                        CodeActionKind::new(code_action::RUN_KIND),
                    ]),
                    ..Default::default()
                })),
                code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: commands::COMMANDS.iter().chain(BUILD_COMMANDS).chain(phases::COMMANDS).map(|c| c.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.actor.send(Msg::Initialized);
        // A build left `running` by a server or CLI that died is recorded as interrupted, once
        // the workspace is indexed, and only where we may write (a trusted workspace).
        let actor = self.actor.clone();
        tokio::spawn(async move {
            let world = actor.snapshot().await;
            if !world.trusted {
                return;
            }
            let dirs: std::collections::BTreeSet<PathBuf> = world
                .docs
                .values()
                .filter(|d| d.kind == world::Kind::Case)
                .filter_map(|d| Some(d.path.as_ref()?.parent()?.to_path_buf()))
                .collect();
            for dir in dirs {
                let recovered = tokio::task::spawn_blocking({
                    let dir = dir.clone();
                    move || playbook_engine::build::job::recover_interrupted(&dir)
                })
                .await;
                match recovered {
                    Ok(Ok(ids)) if !ids.is_empty() => {
                        tracing::info!("marked interrupted: {}", ids.join(", "));
                        actor.send(Msg::BuildsChanged(dir));
                    }
                    Ok(Err(e)) => tracing::warn!("cannot recover the builds in {}: {e}", dir.display()),
                    _ => {}
                }
            }
        });
        // Follow files that are not open; clients without dynamic registration just won't tell us.
        let watchers = ["**/*.md", "**/*.markdown", "**/*.yaml", "**/*.yml", "**/.playbook/state.json", "**/.playbook/builds/*/job.json"]
            .iter()
            .map(|glob| FileSystemWatcher { glob_pattern: GlobPattern::String(glob.to_string()), kind: None })
            .collect();
        let registration = Registration {
            id: "playbook-watch".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(DidChangeWatchedFilesRegistrationOptions { watchers }).ok(),
        };
        let client = self.client.clone();
        // A request to the client must not block this notification handler (deadlock pitfall).
        tokio::spawn(async move {
            if let Err(e) = client.register_capability(vec![registration]).await {
                tracing::debug!("client did not accept file watchers: {e}");
            }
        });
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    // Document sync is intercepted by `ordered::Ordered`; these only run if a message reaches
    // the service some other way, and then go through the same queue.
    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        self.actor.send(Msg::Open { uri: p.text_document.uri, version: p.text_document.version, text: p.text_document.text });
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        self.actor.send(Msg::Change { uri: p.text_document.uri, version: p.text_document.version, changes: p.content_changes });
    }

    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        self.actor.send(Msg::Close { uri: p.text_document.uri });
    }

    async fn did_change_watched_files(&self, p: DidChangeWatchedFilesParams) {
        self.actor.send(Msg::FilesChanged(p.changes));
    }

    async fn did_change_configuration(&self, p: DidChangeConfigurationParams) {
        if let Some(trusted) = trusted_in(Some(&p.settings)) {
            self.actor.send(Msg::Trust(trusted));
        }
    }

    async fn code_lens(&self, p: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let world = self.actor.snapshot().await;
        let phases = phase_statuses(code_lens::cases_of(&world, &p.text_document.uri)).await;
        self.run_on(world, "codeLens", |w| code_lens::code_lenses(w, &p, &phases)).await
    }

    async fn hover(&self, p: HoverParams) -> Result<Option<Hover>> {
        let world = self.actor.snapshot().await;
        let phases = phase_statuses(hover::phase_cases(&world, &p)).await;
        self.run_on(world, "hover", |w| hover::hover(w, &p, &phases)).await
    }

    async fn completion(&self, p: CompletionParams) -> Result<Option<CompletionResponse>> {
        self.run("completion", |w| completion::completion(w, &p)).await
    }

    async fn goto_definition(&self, p: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        self.run("definition", |w| definition::definition(w, &p)).await
    }

    async fn references(&self, p: ReferenceParams) -> Result<Option<Vec<Location>>> {
        self.run("references", |w| references::references(w, &p)).await
    }

    async fn prepare_rename(&self, p: TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>> {
        self.run("prepareRename", |w| rename::prepare_rename(w, &p)).await?.map_err(invalid_params)
    }

    async fn rename(&self, p: RenameParams) -> Result<Option<WorkspaceEdit>> {
        self.run("rename", |w| rename::rename(w, &p)).await?.map_err(invalid_params)
    }

    async fn document_symbol(&self, p: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        self.run("documentSymbol", |w| symbols::document_symbols(w, &p)).await
    }

    async fn symbol(&self, p: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        self.run("workspaceSymbol", |w| symbols::workspace_symbols(w, &p)).await
    }

    async fn folding_range(&self, p: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        self.run("foldingRange", |w| folding::folding_ranges(w, &p)).await
    }

    async fn code_action(&self, p: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.run("codeAction", |w| code_action::code_actions(w, &p)).await
    }

    async fn execute_command(&self, p: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if BUILD_COMMANDS.contains(&p.command.as_str()) {
            return self.build_command(&p).await;
        }
        if phases::COMMANDS.contains(&p.command.as_str()) {
            return self.phase_command(&p).await;
        }
        let edit = self.run("executeCommand", |w| commands::execute(w, &p)).await?.map_err(invalid_params)?;
        if let Some(edit) = edit {
            // The server never writes files: it asks the client to apply the edit.
            let client = self.client.clone();
            tokio::spawn(async move {
                if let Err(e) = client.apply_edit(edit).await {
                    tracing::warn!("client refused the edit: {e}");
                }
            });
        }
        Ok(None)
    }
}
