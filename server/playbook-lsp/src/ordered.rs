//! Document-sync notifications go straight into the state actor's queue.
//!
//! tower-lsp-server runs up to four handlers concurrently, so two `didChange` notifications
//! routed through ordinary async handlers can be applied out of order (tower-lsp #284,
//! tower-lsp-server #36). The transport calls `Service::call` once per message, sequentially,
//! in the order the messages were read; this wrapper queues document changes right there,
//! before any future exists, so arrival order is application order.

use crate::actor::{Handle, Msg};
use futures::future::{Either, Ready, ready};
use serde::de::DeserializeOwned;
use std::task::{Context, Poll};
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
};
use tower_service::Service;

pub struct Ordered<S> {
    pub inner: S,
    pub actor: Handle,
}

impl<S> Service<Request> for Ordered<S>
where
    S: Service<Request, Response = Option<Response>>,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Option<Response>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let msg = match request.method() {
            "textDocument/didOpen" => params::<DidOpenTextDocumentParams>(&request).map(|p| Msg::Open {
                uri: p.text_document.uri,
                version: p.text_document.version,
                text: p.text_document.text,
            }),
            "textDocument/didChange" => params::<DidChangeTextDocumentParams>(&request).map(|p| Msg::Change {
                uri: p.text_document.uri,
                version: p.text_document.version,
                changes: p.content_changes,
            }),
            "textDocument/didClose" => params::<DidCloseTextDocumentParams>(&request).map(|p| Msg::Close { uri: p.text_document.uri }),
            "workspace/didChangeWatchedFiles" => params::<DidChangeWatchedFilesParams>(&request).map(|p| Msg::FilesChanged(p.changes)),
            _ => return Either::Right(self.inner.call(request)),
        };
        match msg {
            Some(msg) => {
                self.actor.send(msg);
                Either::Left(ready(Ok(None)))
            }
            None => {
                // Malformed parameters: a notification gets no answer, only a log line.
                tracing::warn!("ignoring {} with malformed parameters", request.method());
                Either::Left(ready(Ok(None)))
            }
        }
    }
}

fn params<P: DeserializeOwned>(request: &Request) -> Option<P> {
    serde_json::from_value(request.params()?.clone()).ok()
}
