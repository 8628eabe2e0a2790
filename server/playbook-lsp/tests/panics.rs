//! A panic inside a handler becomes an error response and one `window/showMessage`; the
//! server keeps serving.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_with_an_error_and_the_server_keeps_serving() {
    let root = workspace("panics");
    let client = Client::start(&root, capabilities(true, false)).await;
    let response = client.request("playbook/internal/panic", json!(null)).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    let message = client.wait_for_notification("window/showMessage").await;
    assert!(message["params"]["message"].as_str().unwrap().contains("internal error"), "{message}");
    // Still serving: diagnostics and status after the panic.
    let uri = client.open("fixtures/broken/missing-answer/working_case.yaml").await;
    client.wait_idle().await;
    assert_eq!(client.codes(&uri).into_iter().map(|c| c.0).collect::<Vec<_>>(), ["missing-answer"]);
    // One message for one panic.
    let shown = client.notifications.lock().unwrap().iter().filter(|n| n["method"] == "window/showMessage").count();
    assert_eq!(shown, 1);
    client.shutdown().await;
}
